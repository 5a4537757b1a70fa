#!/usr/bin/env bash
# Trains the bundled default model from nothing, on this machine's CPU, with the R1 recipe at small scale:
#   1. pretrain  a new byte-level BPE tokenizer (1024 ids, R1 chat tokens) and a new 3.5M-parameter model, next-token
#                loss on every token of generated R1-format task text            (models/configs/pretrain.json)
#   2. sft       loss on the assistant's reasoning + answer only                   (models/configs/sft.json)
#      sft2      more SFT, weighted towards addition and subtraction               (models/configs/sft2.json)
#      sft3      a third SFT round, same mix, new data                             (models/configs/sft3.json)
#      sft4      a fourth SFT round, same mix, new data, lower rate                (models/configs/sft4.json)
#                -> models/seeksharp-r1-tiny.gguf
#   3. grpo      rule-based rewards, group-relative advantages, on subtraction    (models/configs/grpo.json)
#                -> models/seeksharp-r1-tiny-grpo.gguf: +16 points on subtraction, but addition falls below the
#                SFT model's, so the default stays the SFT model
#   4. distill   the model's verified traces train a smaller student by SFT        (models/configs/distill.json)
#                -> models/seeksharp-r1-tiny-student.gguf
# then evaluates every stage's model on 500 held-out problems of every task. Run outputs (CSV logs, PNG curves,
# checkpoints) go to runs/. Wall times of each stage are appended to runs/times.txt.
# Usage: scripts/train-default-model.sh [first-stage]   (first-stage: pretrain|sft|sft2|sft3|sft4|grpo|distill|eval; default pretrain)
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

order=(pretrain sft sft2 sft3 sft4 grpo distill eval)
run=0
for s in "${order[@]}"; do
  [ "$s" = "$first" ] && run=1
  [ $run -eq 1 ] || continue
  case $s in
    pretrain) stage pretrain seek train pretrain --config models/configs/pretrain.json ;;
    sft)      stage sft seek train sft --config models/configs/sft.json ;;
    sft2)     stage sft2 seek train sft --config models/configs/sft2.json ;;
    sft3)     stage sft3 seek train sft --config models/configs/sft3.json ;;
    sft4)     stage sft4 seek train sft --config models/configs/sft4.json
              cp runs/sft4/seeksharp-r1-tiny-sft4.gguf models/seeksharp-r1-tiny.gguf ;;
    grpo)     stage grpo seek train grpo --config models/configs/grpo.json
              cp runs/grpo/seeksharp-r1-tiny-grpo.gguf models/seeksharp-r1-tiny-grpo.gguf ;;
    distill)  stage distill seek train distill --config models/configs/distill.json
              cp runs/distill/seeksharp-r1-tiny-student.gguf models/seeksharp-r1-tiny-student.gguf ;;
    eval)
      for m in runs/sft/seeksharp-r1-tiny-sft.gguf runs/sft2/seeksharp-r1-tiny-sft2.gguf runs/sft3/seeksharp-r1-tiny-sft3.gguf models/seeksharp-r1-tiny.gguf models/seeksharp-r1-tiny-grpo.gguf models/seeksharp-r1-tiny-student.gguf; do
        echo "== $m" | tee -a runs/eval.txt
        stage "eval $(basename "$m")" seek eval -m "$m" --task all --n 500 | tee -a runs/eval.txt
      done ;;
  esac
done
rm -rf "$bin"
