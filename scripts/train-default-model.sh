#!/usr/bin/env bash
# Trains the bundled default model from nothing, on this machine's CPU, with the R1 recipe at small scale:
#   1. pretrain  a new byte-level BPE tokenizer (1024 ids, R1 chat tokens) and a new 3.5M-parameter model, next-token
#                loss on every token of generated R1-format task text            (models/configs/pretrain.json)
#   2. sft       loss on the assistant's reasoning + answer only, on conversations of 1 to 8 questions, one run; the
#                step exported is the best on the validation split (models/configs/sft.json); GRPO and distill start here
#      sft-noise the same continued with noise words in a third of the questions (models/configs/sft-noise.json)
#                                                                                  -> models/seeksharp-r1-tiny.gguf
#   3. grpo      rule-based rewards, group-relative advantages, on subtraction, one update per sampled batch
#                (models/configs/grpo.json)                                        -> models/seeksharp-r1-tiny-grpo.gguf
#      grpo-mu2  the same with two updates per sampled batch, so the ratio moves and the clip acts
#                (models/configs/grpo-mu2.json; not bundled; compared with mu 1 on the previous models in issue 15)
#   4. distill   the model's verified traces train a smaller student by SFT        (models/configs/distill.json)
#                -> models/seeksharp-r1-tiny-student.gguf
# then evaluates every stage's model on 500 distinct problems of the test split of every task, and of 3x3-digit
# addition and subtraction, asked in the trained phrasings and in the held-out third, and in conversations of 4
# questions (200 per task). Every choice while training (which step to export) is made on the validation split.
# Run outputs (CSV logs, PNG curves, checkpoints, validation.csv) go to runs/. Wall times are appended to runs/times.txt.
# Usage: scripts/train-default-model.sh [first-stage]   (first-stage: pretrain|sft|sft-noise|grpo|grpo-mu2|distill|eval; default pretrain)
set -euo pipefail
cd "$(dirname "$0")/.."
first=${1:-pretrain}

dotnet build src/SeekSharp.Cli -c Release -nologo -v q
# Run from a copy so rebuilding the repository while training cannot replace the running assemblies.
bin=$(mktemp -d)
cp -r src/SeekSharp.Cli/bin/Release/net10.0/. "$bin/"
seek() { dotnet "$bin/seek.dll" "$@"; }
mkdir -p runs

stage() { # name, command...
  local name=$1; shift
  local start=$(date +%s)
  "$@"
  echo "$name wall $(( $(date +%s) - start )) s" | tee -a runs/times.txt
}

order=(pretrain sft sft-noise grpo grpo-mu2 distill eval)
run=0
for s in "${order[@]}"; do
  [ "$s" = "$first" ] && run=1
  [ $run -eq 1 ] || continue
  case $s in
    pretrain) stage pretrain seek train pretrain --config models/configs/pretrain.json ;;
    sft)      stage sft seek train sft --config models/configs/sft.json ;;
    sft-noise) stage sft-noise seek train sft --config models/configs/sft-noise.json
              cp runs/sft-noise/seeksharp-r1-tiny-sft-noise.gguf models/seeksharp-r1-tiny.gguf ;;
    grpo)     stage grpo seek train grpo --config models/configs/grpo.json
              cp runs/grpo/seeksharp-r1-tiny-grpo.gguf models/seeksharp-r1-tiny-grpo.gguf ;;
    grpo-mu2) stage grpo-mu2 seek train grpo --config models/configs/grpo-mu2.json ;;
    distill)  stage distill seek train distill --config models/configs/distill.json
              cp runs/distill/seeksharp-r1-tiny-student.gguf models/seeksharp-r1-tiny-student.gguf ;;
    eval)
      for m in models/seeksharp-r1-tiny.gguf models/seeksharp-r1-tiny-grpo.gguf runs/grpo-mu2/seeksharp-r1-tiny-grpo-mu2.gguf models/seeksharp-r1-tiny-student.gguf; do
        echo "== $m" | tee -a runs/eval.txt
        for p in trained held-out; do
          stage "eval $(basename "$m") $p" seek eval -m "$m" --task all --n 500 --phrasings $p | tee -a runs/eval.txt
          for t in addition subtraction; do seek eval -m "$m" --task $t --digits 3 --n 500 --phrasings $p | tee -a runs/eval.txt; done
        done
        # Conversations of four questions as seek chat holds them: turn 1 against turns 2-4.
        seek eval -m "$m" --task all --n 200 --turns 4 | tee -a runs/eval.txt
      done ;;
  esac
done
rm -rf "$bin"
