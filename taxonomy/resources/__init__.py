"""Data files shipped with the taxonomy stage (the team's value lexicon)."""
