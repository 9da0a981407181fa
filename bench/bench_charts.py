"""Time the removed-API check of charts: `helmfile template` (helm's time) and our split + scan.

Generates 50 local charts and a helmfile with one release each in a temp dir, then prints:
  - helmfile template, with and without --skip-deps (helm's own time, our floor);
  - reading the output directory into manifests, and grading them (our time).
Usage: python bench/bench_charts.py [releases] [templates-per-chart]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing the package

from eks_tfup import charts  # noqa: E402
from eks_tfup import helmfile as hf  # noqa: E402
from eks_tfup.versions import Minor  # noqa: E402

TOOLS = REPO / ".tools" / "bin"

TEMPLATES = {
    "deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-{{ $.Values.i }}
  labels: {app: {{ .Release.Name }}}
spec:
  replicas: 2
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      containers:
        - name: app
          image: "nginx:1.25"
          args: [{{ range $i, $e := until 20 }}"--flag-{{ $i }}", {{ end }}"--last"]
""",
    "service.yaml": """apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  ports: [{port: 80}]
""",
    "pdb.yaml": """{{- if semverCompare ">=1.21-0" .Capabilities.KubeVersion.GitVersion }}
apiVersion: policy/v1
{{- else }}
apiVersion: policy/v1beta1
{{- end }}
kind: PodDisruptionBudget
metadata:
  name: {{ .Release.Name }}
spec:
  minAvailable: 1
""",
    "cron.yaml": """apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: {{ .Release.Name }}
spec:
  schedule: "0 * * * *"
""",
    "configmap.yaml": """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
data:
{{- range $i, $e := until 200 }}
  key{{ $i }}: |
    apiVersion: policy/v1beta1
    value {{ $i }}
{{- end }}
""",
}


def generate(root: Path, releases: int, per_chart: int) -> None:
    lines = ["releases:"]
    for n in range(releases):
        chart = root / "charts" / f"chart{n}"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: chart{n}\nversion: 0.1.{n}\n")
        (chart / "values.yaml").write_text(f"i: {n}\n")
        names = list(TEMPLATES)
        for t in range(per_chart):
            base = names[t % len(names)]
            (chart / "templates" / f"{t}-{base}").write_text(TEMPLATES[base].replace("{{ .Release.Name }}",
                                                                                     f"{{{{ .Release.Name }}}}-{t}"))
        lines += [f"  - name: rel{n}", f"    namespace: ns{n % 7}", f"    chart: ./charts/chart{n}"]
    (root / "helmfile.yaml").write_text("\n".join(lines) + "\n")


def main() -> None:
    releases = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    per_chart = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    target = Minor(1, 25)
    settings = hf.HelmfileSettings(helmfile_bin=str(TOOLS / "helmfile"), helm_bin=str(TOOLS / "helm"))
    with tempfile.TemporaryDirectory(prefix="bench-charts-") as tmp:
        root = Path(tmp)
        generate(root, releases, per_chart)
        helmfile = root / "helmfile.yaml"
        for skip_deps in (False, True):
            out = root / f"out-{skip_deps}"
            started = time.perf_counter()
            hf.run_command(settings, helmfile, charts.template_command(target, out, skip_deps=skip_deps),
                           log_path=None, sink=None)
            label = "helmfile template --skip-deps" if skip_deps else "helmfile template          "
            print(f"{label}: {time.perf_counter() - started:6.2f} s  ({releases} releases)")
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        started = time.perf_counter()
        rendered = charts.read_output_dir(out)
        split = time.perf_counter() - started
        started = time.perf_counter()
        findings = charts.scan_rendered(rendered, target)
        scan = time.perf_counter() - started
        docs = sum(len(r.manifests) for r in rendered)
        print(f"read + split                 : {split:6.3f} s  ({docs} documents, {size / 1e6:.1f} MB)")
        print(f"scan                         : {scan:6.3f} s  ({len(findings)} findings)")
        started = time.perf_counter()
        charts.render_releases(settings, root, target, skip_deps=True)
        print(f"render_releases (end to end) : {time.perf_counter() - started:6.2f} s")


if __name__ == "__main__":
    main()
