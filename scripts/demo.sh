#!/usr/bin/env bash
# The demo: a sandbox cluster created at 1.28 by Terraform from a copy of examples/terraform/,
# then a real `eks-tfup bump 1.29 --yes` on that copy, the report, and the sandbox stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
EKS_TFUP=${EKS_TFUP:-eks-tfup}
work=$(mktemp -d "${TMPDIR:-/tmp}/eks-tfup-demo.XXXXXX")
sandbox="$work/sandbox"
tfdir="$work/terraform"
cleanup() { "$EKS_TFUP" sandbox down --dir "$sandbox" >/dev/null 2>&1 || true; }
trap cleanup EXIT

cp -r examples/terraform "$tfdir"
rm -rf "$tfdir/.terraform" "$tfdir/.eks-tfup" "$tfdir"/terraform.tfstate*

echo "== starting the sandbox (scenario healthy-1.28) and creating the cluster with terraform apply"
"$EKS_TFUP" sandbox up --scenario healthy-1.28 --dir "$sandbox" --terraform-dir "$tfdir"
# shellcheck disable=SC1091
. "$sandbox/env"

# helmfile apply needs the helm-diff plugin, which cannot be installed offline: the demo runs
# `helmfile sync` instead (the example's eks-tfup.toml keeps the runbook's `apply`).
export EKS_TFUP_HELMFILE_COMMANDS="deps;sync"

echo "== eks-tfup status"
"$EKS_TFUP" status --dir "$tfdir"
echo "== eks-tfup bump 1.29 --yes"
"$EKS_TFUP" bump 1.29 --yes --dir "$tfdir"
echo "== the report"
cat "$tfdir"/.eks-tfup/runs/*/report.md
echo "== eks-tfup status"
"$EKS_TFUP" status --dir "$tfdir"
echo "== the HCL change"
diff -r examples/terraform/terraform.tfvars "$tfdir/terraform.tfvars" || true
