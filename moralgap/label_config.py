"""Label Studio labeling configurations for taxonomy review and rationale annotation.

Shared by the taxonomy stage (``taxonomy export --format labelstudio``) and the annotation
stage (review and rationale projects), so it lives here and neither stage imports the other.

Values are offered through Label Studio's ``Taxonomy`` control: a searchable drop-down whose
items are grouped by ``Value.parent``, which stays usable with 60 and more values where a
flat list of check boxes does not. Each value's ``Choice`` carries its name as the visible
label and its id as ``alias``, so results name values by id and survive renames.
"""
from __future__ import annotations

from xml.sax.saxutils import quoteattr

from moralgap.records import Taxonomy, Value

REVIEW_ACTIONS = ("keep", "rename", "merge", "split", "reject")
UNGROUPED = "Other values"

# control names: shared with the modules that build predictions and read results
DECISION, NEW_NAME, NEW_DEFINITION, MERGE_INTO, SPLIT_K, NOTE, MEMBERS_OUT = (
    "decision", "new_name", "new_definition", "merge_into", "split_k", "note", "members_out")
# The task field that lists a value's forms for MEMBERS_OUT (Label Studio's dynamic choices).
MEMBER_FORMS = "member_forms"
VALUES, OTHER_VALUES = "values", "other_values"
REVIEW_TARGET, RATIONALE_TARGET = "value", "rationale"


def value_groups(values: list[Value]) -> dict[str, list[Value]]:
    """Values by parent group, groups and members in a stable, readable order."""
    groups: dict[str, list[Value]] = {}
    for v in values:
        groups.setdefault(v.parent or UNGROUPED, []).append(v)
    ordered = {g: sorted(vs, key=lambda v: v.name.lower()) for g, vs in groups.items()}
    return dict(sorted(ordered.items(), key=lambda kv: (kv[0] == UNGROUPED, kv[0].lower())))


def display_names(values: list[Value]) -> dict[str, str]:
    """Visible label per value id; a name used twice gets its id appended so both stay selectable."""
    counts: dict[str, int] = {}
    for v in values:
        counts[v.name] = counts.get(v.name, 0) + 1
    return {v.id: v.name if counts[v.name] == 1 else f"{v.name} ({v.id})" for v in values}


def group_of(values: list[Value]) -> dict[str, str]:
    return {v.id: v.parent or UNGROUPED for v in values}


def _taxonomy_choices(values: list[Value], indent: str) -> str:
    names = display_names(values)
    lines = []
    for group, members in value_groups(values).items():
        lines.append(f"{indent}<Choice value={quoteattr(group)} alias={quoteattr('group:' + group)}>")
        for v in members:
            hint = f" hint={quoteattr(v.definition[:300])}" if v.definition else ""
            lines.append(f"{indent}  <Choice value={quoteattr(names[v.id])} alias={quoteattr(v.id)}{hint}/>")
        lines.append(f"{indent}</Choice>")
    return "\n".join(lines)


def review_label_config(taxonomy: Taxonomy) -> str:
    """One task per value: its card, its forms to tick out, a decision, optional new name/definition,
    merge target, split size."""
    values = taxonomy.active_values()
    choices = "\n".join(f'    <Choice value="{a}"/>' for a in REVIEW_ACTIONS)
    return f"""<View>
  <Header value="$name"/>
  <Text name="{REVIEW_TARGET}" value="$summary"/>
  <HyperText name="card" value="$card_html"/>
  <Header value="Members that do not belong (taken out of the value, whatever the decision)" size="6"/>
  <Choices name="{MEMBERS_OUT}" toName="{REVIEW_TARGET}" value="${MEMBER_FORMS}" choice="multiple" showInline="true"/>
  <Header value="Decision" size="5"/>
  <Choices name="{DECISION}" toName="{REVIEW_TARGET}" choice="single-radio" required="true" showInline="true">
{choices}
  </Choices>
  <Header value="New name (rename) and definition (any decision)" size="6"/>
  <TextArea name="{NEW_NAME}" toName="{REVIEW_TARGET}" maxSubmissions="1" editable="true" placeholder="New name"/>
  <TextArea name="{NEW_DEFINITION}" toName="{REVIEW_TARGET}" maxSubmissions="1" editable="true" rows="3" placeholder="Definition"/>
  <Header value="Merge into (merge)" size="6"/>
  <Taxonomy name="{MERGE_INTO}" toName="{REVIEW_TARGET}" leafsOnly="true" maxUsages="1" placeholder="Search values">
{_taxonomy_choices(values, "    ")}
  </Taxonomy>
  <Header value="Split into how many parts (split)" size="6"/>
  <Number name="{SPLIT_K}" toName="{REVIEW_TARGET}" min="2" max="10"/>
  <TextArea name="{NOTE}" toName="{REVIEW_TARGET}" maxSubmissions="1" editable="true" placeholder="Why (optional)"/>
</View>
"""


def rationale_label_config(taxonomy: Taxonomy) -> str:
    """One task per rationale: the dilemma, the rationale with highlighted expressions, value multi-select."""
    values = taxonomy.active_values()
    return f"""<View>
  <Header value="Dilemma" size="5"/>
  <Text name="dilemma" value="$dilemma"/>
  <Header value="Rationale (verdict: $verdict)" size="5"/>
  <HyperText name="{RATIONALE_TARGET}" value="$rationale_html"/>
  <Header value="Values this rationale appeals to" size="5"/>
  <Taxonomy name="{VALUES}" toName="{RATIONALE_TARGET}" leafsOnly="true" placeholder="Search values">
{_taxonomy_choices(values, "    ")}
  </Taxonomy>
  <TextArea name="{OTHER_VALUES}" toName="{RATIONALE_TARGET}" editable="true" placeholder="Value not in the list (one per entry)"/>
</View>
"""


def taxonomy_result(control: str, target: str, value_ids: list[str], groups: dict[str, str]) -> dict:
    """A Taxonomy result item selecting ``value_ids``, as Label Studio itself writes it (paths of aliases)."""
    paths = [["group:" + groups[v], v] for v in value_ids]
    return {"from_name": control, "to_name": target, "type": "taxonomy", "value": {"taxonomy": paths}}


def choices_result(control: str, target: str, choices: list[str]) -> dict:
    return {"from_name": control, "to_name": target, "type": "choices", "value": {"choices": list(choices)}}


def textarea_result(control: str, target: str, texts: list[str]) -> dict:
    return {"from_name": control, "to_name": target, "type": "textarea", "value": {"text": list(texts)}}


def number_result(control: str, target: str, number: int) -> dict:
    return {"from_name": control, "to_name": target, "type": "number", "value": {"number": number}}
