#!/bin/sh
# Renders each overlay into k8s/rendered/<overlay>.yaml, which `gt k8s deploy` ships and applies.
# RenderedOverlaysTest fails when these files are out of date with the overlays.
set -eu
cd "$(dirname "$0")"
mkdir -p rendered
for overlay in dev gpu; do
  kubectl kustomize "overlays/$overlay" > "rendered/$overlay.yaml"
done
