#!/usr/bin/env python3
"""Parse a /metrics body with Prometheus' own parser (python3-prometheus-client) and print its
samples as JSON for the C tests: {"families": {name: {"type", "help"}}, "samples": {series:
value}}, a series written `name{a="x",b="y"}` with its labels sorted. Exits 1 on anything the
format (or finwait's conventions) does not allow, so a test that scrapes fails on bad output."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    families, samples = {}, {}
    for fam in text_string_to_metric_families(text):
        if fam.name in families:
            sys.exit(f"family {fam.name} split in two")
        if fam.type == "unknown" or not fam.documentation:
            sys.exit(f"family {fam.name}: no # TYPE or no # HELP")
        families[fam.name] = {"type": fam.type, "help": fam.documentation}
        for s in fam.samples:
            # process_*: the Go client's process collector, with Toxiproxy's -runtime-metrics
            if not s.name.startswith(("finwait_", "toxiproxy_", "process_")):
                sys.exit(f"{s.name}: not finwait_ or toxiproxy_")
            if fam.type == "counter" and not s.name.endswith("_total"):
                sys.exit(f"counter {s.name} does not end in _total")
            labels = ",".join(f'{k}={json.dumps(v)}' for k, v in sorted(s.labels.items()))
            key = f"{s.name}{{{labels}}}"
            if key in samples:
                sys.exit(f"{key} twice")
            samples[key] = s.value
    json.dump({"families": families, "samples": samples}, sys.stdout)


if __name__ == "__main__":
    try:
        main()
    except (ValueError, KeyError, IndexError, TypeError) as e:
        sys.exit(f"not Prometheus' text format: {e!r}")
