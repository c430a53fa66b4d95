#!/usr/bin/env bash
# Entrypoint of the ml-serving Triton image.
#
#   serve [flag ...]   SageMaker (`docker run <image> serve`): Triton's SageMaker frontend on port
#                      8080 over the model repository SageMaker copied to /opt/ml/model, loading
#                      only $SAGEMAKER_TRITON_DEFAULT_MODEL_NAME.
#   anything else      passed to tritonserver unchanged (KServe on EKS gives
#                      --model-repository=s3://bucket/prefix --http-port=8080 ...).
set -euo pipefail

# Where SageMaker puts the model repository; overridable to try `serve` outside SageMaker.
readonly MODEL_REPOSITORY="${ML_SERVING_MODEL_REPOSITORY:-/opt/ml/model}"
# NVIDIA's entrypoint checks the driver and turns on CUDA forward compatibility for older
# drivers before it runs its arguments; the base image uses it as its ENTRYPOINT.
readonly NVIDIA_ENTRYPOINT=/opt/nvidia/nvidia_entrypoint.sh

fail() {
    echo "ml-serving-entrypoint: $*" >&2
    exit 64
}

launcher=()
if [[ -x "$NVIDIA_ENTRYPOINT" ]]; then
    launcher=("$NVIDIA_ENTRYPOINT")
fi

if [[ "${1:-}" != serve ]]; then
    exec "${launcher[@]}" tritonserver "$@"
fi
shift

model="${SAGEMAKER_TRITON_DEFAULT_MODEL_NAME:-}"
[[ -n "$model" ]] \
    || fail "SAGEMAKER_TRITON_DEFAULT_MODEL_NAME is not set; it names the model directory to load"
[[ -f "$MODEL_REPOSITORY/$model/config.pbtxt" ]] \
    || fail "$MODEL_REPOSITORY/$model/config.pbtxt not found; the model's S3 prefix must be a Triton" \
            "model repository: <prefix>/$model/config.pbtxt and <prefix>/$model/1/<model file>"

# SageMaker reaches the container only through its own frontend: no HTTP, gRPC or metrics
# listeners (nothing could connect to them).
args=(
    --allow-sagemaker=true
    --allow-http=false
    --allow-grpc=false
    --allow-metrics=false
    --model-repository="$MODEL_REPOSITORY"
    --model-control-mode=explicit
    --load-model="$model"
)
if [[ -n "${SAGEMAKER_BIND_TO_PORT:-}" ]]; then
    args+=(--sagemaker-port="$SAGEMAKER_BIND_TO_PORT")
fi

exec "${launcher[@]}" tritonserver "${args[@]}" "$@"
