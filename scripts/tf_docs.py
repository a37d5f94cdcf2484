"""The requirements, inputs and outputs tables of a Terraform module, generated from its *.tf
files the way terraform-docs' `markdown table` does, and kept in a README between two markers.

terraform-docs (a Go binary) is published on no registry CI can reach (PyPI, npm, Debian,
crates.io), so this stands in for `terraform-docs markdown table --output-check`: `check`
fails, with a diff, when the block in the README differs from what the module declares (a
variable added, renamed or removed, a description, type or default changed); `write` rewrites
the block. It parses HCL with python-hcl2 (PyPI, pinned by scripts/infra-test.sh).

    tf_docs.py check|write

covers the root (terraform/, between <!-- BEGIN_TF_DOCS --> and <!-- END_TF_DOCS --> in
terraform/README.md) and terraform/bootstrap (<!-- BEGIN_BOOTSTRAP_DOCS --> ...).
"""

import difflib
import glob
import json
import os
import re
import sys
import textwrap

import hcl2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "terraform", "README.md")
# (module directory, marker name, heading level of its tables)
MODULES = [("terraform", "TF_DOCS", "###"), ("terraform/bootstrap", "BOOTSTRAP_DOCS", "####")]


def unquote(s):
    """A string attribute as python-hcl2 returns it ("\"text\"", or a quoted heredoc)."""
    if s is None:
        return ""
    s = str(s)
    if s.startswith('"') and s.endswith('"'):
        s = json.loads(s) if "<<" not in s[:4] else s[1:-1]
    m = re.match(r"^<<-?(\w+)\n(.*)\n\s*\1$", s, re.S)
    if m:
        s = " ".join(line.strip() for line in textwrap.dedent(m.group(2)).splitlines() if line.strip())
    return s


def expression(s):
    """An expression attribute ("${list(string)}" or a bare keyword such as string)."""
    s = str(s)
    if s.startswith("${") and s.endswith("}"):
        s = s[2:-1]
    return s


def hcl_value(v):
    """A default value in HCL syntax, on one line."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if isinstance(v, str):
        if v.startswith('"') and v.endswith('"'):
            return v
        return expression(v)
    if isinstance(v, list):
        return "[" + ", ".join(hcl_value(x) for x in v) + "]"
    if isinstance(v, dict):
        items = [(k, x) for k, x in v.items() if not k.startswith("__")]
        if not items:
            return "{}"
        return "{ " + ", ".join(f"{k.strip(chr(34))} = {hcl_value(x)}" for k, x in items) + " }"
    raise ValueError(f"unexpected default {v!r}")


def cell(text):
    """Markdown table cell text, escaped as terraform-docs escapes it."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def anchor(kind, name):
    return f'<a name="{kind}_{name}"></a> [{name}](#{kind}\\_{name.replace("_", chr(92) + "_")})'


def blocks(module_dir, kind):
    """(name, body) of every `kind` block (variable, output, terraform) in the module's *.tf."""
    out = []
    for path in sorted(glob.glob(os.path.join(module_dir, "*.tf"))):
        with open(path) as f:
            parsed = hcl2.load(f)
        for block in parsed.get(kind, []):
            if kind == "terraform":
                out.append(("", block))
            else:
                for name, body in block.items():
                    out.append((name.strip('"'), body))
    return out


def generate(module_dir, heading):
    lines = []
    req = []
    for _, body in blocks(module_dir, "terraform"):
        if "required_version" in body:
            req.append(("terraform", unquote(body["required_version"])))
        for providers in body.get("required_providers", []):
            for name, spec in providers.items():
                if name.startswith("__"):
                    continue
                req.append((name, unquote(spec.get("version"))))
    lines += [f"{heading} Requirements", "", "| Name | Version |", "|------|---------|"]
    lines += [f"| {anchor('requirement', n)} | {cell(v)} |" for n, v in req]

    lines += ["", f"{heading} Inputs", ""]
    lines += ["| Name | Description | Type | Default | Required |", "|------|-------------|------|---------|:--------:|"]
    for name, body in blocks(module_dir, "variable"):
        required = "default" not in body
        default = "n/a" if required else f"`{hcl_value(body['default'])}`"
        kind = expression(body.get("type", "any"))
        lines.append(
            f"| {anchor('input', name)} | {cell(unquote(body.get('description')))} | `{kind}` | {default} | {'yes' if required else 'no'} |"
        )

    lines += ["", f"{heading} Outputs", ""]
    lines += ["| Name | Description | Sensitive |", "|------|-------------|:---------:|"]
    for name, body in blocks(module_dir, "output"):
        sensitive = str(body.get("sensitive", False)).lower() == "true"
        lines.append(f"| {anchor('output', name)} | {cell(unquote(body.get('description')))} | {'yes' if sensitive else 'no'} |")
    return "\n".join(lines) + "\n"


def sync(text, mode, module, marker, heading):
    """(new text, ok): the README text with one module's block checked or rewritten."""
    begin, end = f"<!-- BEGIN_{marker} -->", f"<!-- END_{marker} -->"
    m = re.search("^" + re.escape(begin) + r"\n(.*?)^" + re.escape(end) + "$", text, re.S | re.M)
    if not m:
        print(f"terraform/README.md: no {begin} ... {end} block (each marker on a line of its own)")
        return text, False
    want = generate(os.path.join(ROOT, module), heading)
    if m.group(1) == want:
        print(f"terraform/README.md: the tables of {module} match its *.tf files")
        return text, True
    if mode == "write":
        print(f"terraform/README.md: the tables of {module} rewritten from its *.tf files")
        return text[: m.start(1)] + want + text[m.end(1) :], True
    print(f"terraform/README.md: the tables of {module} differ from its *.tf files (python3 scripts/tf_docs.py write):")
    sys.stdout.writelines(difflib.unified_diff(m.group(1).splitlines(True), want.splitlines(True), "README", "generated"))
    return text, False


def main(argv):
    if len(argv) != 2 or argv[1] not in ("check", "write"):
        sys.exit(__doc__)
    with open(README) as f:
        text = f.read()
    ok = True
    for module, marker, heading in MODULES:
        text, module_ok = sync(text, argv[1], module, marker, heading)
        ok &= module_ok
    if argv[1] == "write":
        with open(README, "w") as f:
            f.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
