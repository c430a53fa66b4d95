#!/usr/bin/env bash
# Entrypoint of the ml-serving vLLM image.
#
#   serve [flag ...]   SageMaker (`docker run <image> serve`): serve the weights SageMaker copied
#                      to /opt/ml/model as $SM_MODEL_NAME on port 8080, with one vLLM flag per
#                      SM_VLLM_* variable (SM_VLLM_MAX_MODEL_LEN=8192 -> --max-model-len 8192;
#                      an empty value gives a bare flag such as --enforce-eager).
#   anything else      passed to `vllm serve` (KServe on EKS gives --model s3://...), unchanged
#                      unless ML_SERVING_WEIGHTS_CACHE names a node cache directory: then
#                      ml-serving-weights-cache may point --model at this node's copy of the
#                      weights, or start copying them there once the server is healthy.
set -euo pipefail

# Where SageMaker puts the weights; overridable to try the `serve` path outside SageMaker.
readonly MODEL_DIR="${ML_SERVING_MODEL_DIR:-/opt/ml/model}"
readonly PREFIX=SM_VLLM_

fail() {
    echo "ml-serving-entrypoint: $*" >&2
    exit 64
}

if [[ "${1:-}" != serve ]]; then
    if [[ -n "${ML_SERVING_WEIGHTS_CACHE:-}" ]]; then
        # A cache that fails must never stop a replica: stream from S3 with the flags as given.
        rewritten="$(mktemp)"
        if ml-serving-weights-cache prepare "$@" >"$rewritten"; then
            mapfile -d '' -t flags <"$rewritten"
            set -- "${flags[@]}"
        else
            echo "ml-serving-entrypoint: the node's weights cache failed; streaming from S3" >&2
        fi
        rm -f "$rewritten"
    fi
    exec vllm serve "$@"
fi
shift

[[ -n "${SM_MODEL_NAME:-}" ]] \
    || fail "SM_MODEL_NAME is not set; it is the model name clients send (--served-model-name)"
[[ -d "$MODEL_DIR" ]] \
    || fail "$MODEL_DIR does not exist; SageMaker copies the model's S3 prefix there (ModelDataSource)"

# SageMaker routes requests to 8080 unless it asks for another port.
args=("$MODEL_DIR" --port "${SAGEMAKER_BIND_TO_PORT:-8080}" --served-model-name "$SM_MODEL_NAME")
while IFS= read -r name; do
    case "$name" in
        "${PREFIX}MODEL" | "${PREFIX}SERVED_MODEL_NAME" | "${PREFIX}PORT")
            # Set above from SageMaker's own contract; a second value would silently win.
            echo "ml-serving-entrypoint: ignoring $name: the model, its name and the port come from SageMaker" >&2
            continue
            ;;
    esac
    flag="${name#"$PREFIX"}"
    flag="--${flag,,}"
    args+=("${flag//_/-}")
    if [[ -n "${!name}" ]]; then
        args+=("${!name}")
    fi
done < <(compgen -e | grep "^${PREFIX}" | LC_ALL=C sort || true)

exec vllm serve "${args[@]}" "$@"
