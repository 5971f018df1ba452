#!/usr/bin/env python3
"""A test stand-in for the `helm` binary, covering only what kslint calls.

CI has no helm, so kslint's tests (run through `.ci/run`) point at this
script instead. It renders charts offline with the PyPI package
`helm-python-sdk` (import name `helm_python`), which embeds Helm's Go SDK,
and prints the result the way `helm template` does. It never touches the
network. Supported:

  helm template [--namespace[=]NS] [--values[=]FILE]... [-f FILE]...
                [--set[=]K=V]... [--kube-version[=]V] [--include-crds]
                [--] RELEASE CHART_DIR
  helm version
"""

import json
import re
import sys

import helm_python
from helm_python import _native

VALUE_FLAGS = {"--namespace", "--values", "-f", "--set", "--kube-version"}
BOOL_FLAGS = {"--include-crds"}
# Real helm splits a rendered file into YAML documents on `---` lines.
DOC_SEPARATOR = re.compile(r"^---[ \t\r]*$", re.MULTILINE)
LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t\r]*\n)+")


class UsageError(Exception):
    """A bad command line or values file; printed as `Error: ...`."""


def parse_template_args(args):
    """Split `template` arguments into positionals and a flag->values map."""
    positionals, flags = [], {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        # `--` ends the flags, as in helm (cobra): the rest is positional.
        if arg == "--":
            positionals.extend(args[i:])
            break
        if not arg.startswith("-"):
            positionals.append(arg)
            continue
        name, has_inline, inline = arg.partition("=")
        if name in BOOL_FLAGS and not has_inline:
            flags.setdefault(name, []).append(True)
        elif name in VALUE_FLAGS:
            if not has_inline:
                if i >= len(args):
                    raise UsageError(f"flag needs an argument: {name}")
                inline = args[i]
                i += 1
            # -f is the short form of --values; keep both in file order.
            flags.setdefault("--values" if name == "-f" else name, []).append(inline)
        else:
            raise UsageError(f"unknown flag {arg}")
    if len(positionals) != 2:
        raise UsageError(f'"helm template" needs RELEASE and CHART_DIR, got {len(positionals)} arguments')
    return positionals, flags


def deep_merge(base, override):
    """Merge override into base like helm merges -f/--set: maps recurse, the rest replaces."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def user_values(flags):
    # Helm applies every --values file first, then every --set, whatever their order.
    values = {}
    for path in flags.get("--values", []):
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise UsageError(f"open {path}: {error.strerror}") from None
        try:
            deep_merge(values, helm_python.values_from_yaml(text))
        except helm_python.HelmValuesError as error:
            raise UsageError(f"failed to parse {path}: {error}") from None
    for expression in flags.get("--set", []):
        deep_merge(values, helm_python.parse_set_string(expression))
    return values


def render(chart, values, release, flags):
    # Chart.render cannot pass kube_version, so make the same native call it makes.
    options = {"name": release, "is_install": True}
    if "--namespace" in flags:
        options["namespace"] = flags["--namespace"][-1]
    if "--kube-version" in flags:
        options["kube_version"] = flags["--kube-version"][-1]
    rendered = _native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(options))
    return json.loads(rendered)


def is_blank_document(document):
    # Comment-only documents carry no object, so they are left out as well.
    return all(not line.strip() or line.lstrip().startswith("#") for line in document.splitlines())


def source_block(path, text):
    return f"---\n# Source: {path}\n{text.rstrip()}\n"


def template_output(chart, manifests, include_crds):
    blocks = []
    if include_crds:
        # `filename` is already chart-qualified, e.g. mychart/crds/foo.yaml.
        blocks += [source_block(crd["filename"], crd["data"]) for crd in chart.crds]
    for path in sorted(manifests):
        base = path.rsplit("/", 1)[-1]
        if base.endswith("NOTES.txt") or base.startswith("_"):
            continue
        for document in DOC_SEPARATOR.split(manifests[path]):
            if not is_blank_document(document):
                blocks.append(source_block(path, LEADING_BLANK_LINES.sub("", document)))
    return "".join(blocks)


def template(args):
    (release, chart_dir), flags = parse_template_args(args)
    values = user_values(flags)
    with helm_python.Chart.load(chart_dir) as chart:
        manifests = render(chart, values, release, flags)
        return template_output(chart, manifests, "--include-crds" in flags)


def version(args):
    if args:
        raise UsageError(f"unknown flag {args[0]}")
    # Semver build metadata keeps the string parseable while naming the stand-in.
    return f'version.BuildInfo{{Version:"{helm_python.helm_sdk_version()}+helm-python-sdk.{helm_python.__version__}"}}\n'


def main(argv):
    commands = {"template": template, "version": version}
    try:
        if not argv or argv[0] not in commands:
            raise UsageError(f'unknown command "{argv[0] if argv else ""}" for "helm"')
        output = commands[argv[0]](argv[1:])
    except (UsageError, helm_python.HelmError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    # Write bytes so a non-UTF-8 locale in CI cannot garble or reject the output.
    sys.stdout.buffer.write(output.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
