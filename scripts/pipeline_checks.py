#!/usr/bin/env python3
"""The pipeline's threat model, checked over .github/workflows/deploy.yml (issue 11, points 5-7, 10-12).

For each situation a run can be in (a pull request from this repository, from a fork, from
Dependabot; a push to main; workflow_dispatch on main or on another branch), the jobs' `if:`
conditions and `needs:` are evaluated to find which jobs run, and then:

  * no job a pull request runs may assume the image or apply role, push an image or tag one;
    the plan role only in the reviewed "plan" environment; forks and Dependabot no role at all,
    and a job says why their plan is skipped;
  * only main's jobs push images (src-<hash> tags from scripts/source-hash.sh) or add
    deployed-* tags; the apply role only in the "production" environment;
  * the apply job applies the saved plan (no -auto-approve, no re-plan) after checking its
    SHA-256 against the plan job's output;
  * id-token: write only where a role is assumed; no ${{ github.event... }} inside run: scripts;
  * the path filters cover every path of the build context (.dockerignore) and the hash script;
  * every workflow's cancel-in-progress is a literal (checkov drops a file otherwise).

The role each job may assume matches what terraform/bootstrap trusts (tests/trust.tftest.hcl):
image = ref:refs/heads/main, plan = environment:plan or ref:refs/heads/main, apply =
environment:production.

Usage: pipeline_checks.py [--workflow FILE] [--root DIR]; exits 1 listing every violation.
--self-test applies known-bad mutations to the workflow and asserts each one is caught.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
REPO = "acme/bedrock-usage-mcp"

# The subject each situation's token carries for a job without an environment, and the roles'
# trusted subjects (terraform/bootstrap/oidc.tf).
ROLE_VARS = {"AWS_IMAGE_ROLE_ARN": "image", "AWS_PLAN_ROLE_ARN": "plan", "AWS_APPLY_ROLE_ARN": "apply"}
TRUST = {
    "image": {"ref:refs/heads/main"},
    "plan": {"environment:plan", "ref:refs/heads/main"},
    "apply": {"environment:production"},
}

SITUATIONS = {
    "pull request (this repository)": dict(event_name="pull_request", ref="refs/pull/7/merge", head_repo=REPO, author="alice", pr=True),
    "pull request (fork)": dict(event_name="pull_request", ref="refs/pull/8/merge", head_repo="mallory/bedrock-usage-mcp", author="mallory", pr=True),
    "pull request (Dependabot)": dict(event_name="pull_request", ref="refs/pull/9/merge", head_repo=REPO, author="dependabot[bot]", pr=True),
    "push to main": dict(event_name="push", ref="refs/heads/main", head_repo=None, author=None, pr=False),
    "workflow_dispatch on main": dict(event_name="workflow_dispatch", ref="refs/heads/main", head_repo=None, author=None, pr=False),
    "workflow_dispatch on a branch": dict(event_name="workflow_dispatch", ref="refs/heads/feature", head_repo=None, author=None, pr=False),
}


# --- A small evaluator for the GitHub expressions job conditions use -----------------------------

TOKEN = re.compile(r"\s*(?:(&&|\|\||==|!=|!|\(|\))|'((?:[^']|'')*)'|([A-Za-z_][A-Za-z0-9_.\-\[\]']*)|(\S))")


def tokenize(expr: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        if m.group(1):
            out.append(("op", m.group(1)))
        elif m.group(2) is not None:
            out.append(("str", m.group(2).replace("''", "'")))
        elif m.group(3):
            word = m.group(3)
            out.append(("lit", word) if word in ("true", "false", "null") else ("ctx", word))
        elif m.group(4):
            raise ValueError(f"unexpected {m.group(4)!r} in {expr!r}")
    return out


def evaluate(expr: str, ctx: dict) -> bool:
    expr = expr.strip()
    if expr.startswith("${{") and expr.endswith("}}"):
        expr = expr[3:-2]
    tokens = tokenize(expr)
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else (None, None)

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def primary():
        kind, val = take()
        if kind == "op" and val == "(":
            v = or_expr()
            take()
            return v
        if kind == "op" and val == "!":
            return not truthy(primary())
        if kind == "str":
            return val
        if kind == "lit":
            return {"true": True, "false": False, "null": None}[val]
        if kind == "ctx":
            if val not in ctx:
                raise KeyError(f"the check does not model {val} (used in a job condition)")
            return ctx[val]
        raise ValueError(f"cannot parse {expr!r}")

    def comparison():
        left = primary()
        while peek() in (("op", "=="), ("op", "!=")):
            op = take()[1]
            right = primary()
            eq = str(left).lower() == str(right).lower() if isinstance(left, str) and isinstance(right, str) else left == right
            left = eq if op == "==" else not eq
        return left

    def and_expr():
        left = comparison()
        while peek() == ("op", "&&"):
            take()
            right = comparison()
            left = right if truthy(left) else left
        return left

    def or_expr():
        left = and_expr()
        while peek() == ("op", "||"):
            take()
            right = and_expr()
            left = left if truthy(left) else right
        return left

    return truthy(or_expr())


def truthy(v) -> bool:
    return bool(v) and v != "0"


def context_for(s: dict) -> dict:
    pr = s["pr"]
    return {
        "github.event_name": s["event_name"],
        "github.ref": s["ref"],
        "github.repository": REPO,
        "github.event.pull_request.head.repo.full_name": s["head_repo"] if pr else None,
        "github.event.pull_request.user.login": s["author"] if pr else None,
        "github.event.pull_request.number": 7 if pr else None,
        "github.actor": s["author"] or "maintainer",
    }


# --- The model -----------------------------------------------------------------------------------


def jobs_that_run(wf: dict, ctx: dict) -> list[str]:
    jobs = wf["jobs"]
    ran: dict[str, bool] = {}

    def runs(name: str) -> bool:
        if name in ran:
            return ran[name]
        job = jobs[name]
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        cond = str(job.get("if", "success()"))
        if "always()" in cond or "failure()" in cond or "cancelled()" in cond:
            raise ValueError(f"job {name}: status functions in if: are not modelled")
        ok = all(runs(n) for n in needs)
        if ok and "if" in job:
            ok = evaluate(cond, ctx)
        ran[name] = ok
        return ok

    return [j for j in jobs if runs(j)]


def job_roles(job: dict) -> set[str]:
    roles = set()
    for step in job.get("steps", []):
        if "configure-aws-credentials" in str(step.get("uses", "")):
            ref = str(step.get("with", {}).get("role-to-assume", ""))
            m = re.search(r"vars\.([A-Z_]+)", ref)
            roles.add(ROLE_VARS.get(m.group(1), f"unknown:{ref}") if m else f"unknown:{ref}")
    return roles


def environment(job: dict) -> str | None:
    env = job.get("environment")
    if isinstance(env, dict):
        env = env.get("name")
    return env


def pushes(job: dict) -> list[str]:
    """What a job can write to the registry: build-push-action push: true, ecr put-image."""
    out = []
    for step in job.get("steps", []):
        if "build-push-action" in str(step.get("uses", "")) and str(step.get("with", {}).get("push", "false")).lower() == "true":
            out.append("image:" + str(step["with"].get("tags", "")))
        run = str(step.get("run", ""))
        if re.search(r"\becr\s+put-image\b", run):
            tag = re.search(r"--image-tag\s+\"?\$?\{?([A-Za-z_]+)", run)
            value = str(step.get("env", {}).get(tag.group(1), "")) if tag else ""
            out.append("tag:" + value)
        if re.search(r"docker\s+push|buildx\s+build[^\n]*--push|crane\s+(copy|tag)|skopeo\s+copy", run):
            out.append("image:" + run.strip().splitlines()[0])
    return out


def check(wf: dict, root: Path, text: str) -> list[str]:
    errors: list[str] = []
    jobs = wf["jobs"]
    on = wf.get(True, wf.get("on"))  # YAML 1.1 reads the key `on` as True

    # Triggers that run with the base repository's privileges on untrusted code.
    for bad in ("pull_request_target", "workflow_run"):
        if bad in on:
            errors.append(f"trigger {bad} runs untrusted code with the repository's privileges")
    if wf.get("permissions") != {}:
        errors.append("the workflow's default permissions must be {} (each job asks for its own)")

    for name, job in jobs.items():
        perms = job.get("permissions", {}) or {}
        roles = job_roles(job)
        if perms.get("id-token") == "write" and not roles:
            errors.append(f"job {name}: id-token: write without assuming a role")
        if roles and perms.get("id-token") != "write":
            errors.append(f"job {name}: assumes a role without id-token: write")
        for r in roles:
            if r.startswith("unknown"):
                errors.append(f"job {name}: assumes an unknown role {r}")
        for step in job.get("steps", []):
            run = str(step.get("run", ""))
            if re.search(r"\$\{\{[^}]*(github\.event\.|github\.head_ref|inputs\.)", run):
                errors.append(f"job {name}: a run: script interpolates untrusted input (${{{{ github.event... }}}}): pass it through env")

    for situation, s in SITUATIONS.items():
        ctx = context_for(s)
        try:
            running = jobs_that_run(wf, ctx)
        except (KeyError, ValueError) as e:
            errors.append(f"{situation}: {e}")
            continue
        for name in running:
            job = jobs[name]
            env = environment(job)
            subject = f"environment:{env}" if env else ("pull_request" if s["pr"] else f"ref:{s['ref']}")
            for role in job_roles(job):
                if role in TRUST and subject not in TRUST[role]:
                    errors.append(f"{situation}: job {name} asks for the {role} role with sub {subject}, which the role does not trust (it would fail, or the trust is too wide)")
                if s["pr"] and role in ("image", "apply"):
                    errors.append(f"{situation}: job {name} assumes the {role} role")
                if s["pr"] and role == "plan" and env != "plan":
                    errors.append(f"{situation}: job {name} assumes the plan role outside the reviewed plan environment")
                if s["pr"] and (s["head_repo"] != REPO or s["author"] == "dependabot[bot]"):
                    errors.append(f"{situation}: job {name} assumes a role (no AWS access exists here)")
                if role == "apply" and env != "production":
                    errors.append(f"{situation}: job {name} assumes the apply role outside the production environment")
            for p in pushes(job):
                if s["pr"] or s["ref"] != "refs/heads/main":
                    errors.append(f"{situation}: job {name} pushes ({p})")
                elif p.startswith("image:") and "steps.tag.outputs.tag" not in p:
                    errors.append(f"{situation}: job {name} pushes a tag not derived from scripts/source-hash.sh: {p}")
                elif p.startswith("tag:") and not p.startswith("tag:deployed-"):
                    errors.append(f"{situation}: job {name} adds a tag other than deployed-*: {p}")
            if s["pr"] and env == "production":
                errors.append(f"{situation}: job {name} runs in the production environment")
        roles_run = {r for n in running for r in job_roles(jobs[n])}
        if s["pr"] and (s["head_repo"] != REPO or s["author"] == "dependabot[bot]"):
            if not any("skipped" in n for n in running):
                errors.append(f"{situation}: no job says why the plan is skipped")
            if not any(any("build-push-action" in str(st.get("uses", "")) for st in jobs[n].get("steps", [])) for n in running):
                errors.append(f"{situation}: the image is not even built")
        if situation == "pull request (this repository)" and roles_run != {"plan"}:
            errors.append(f"{situation}: expected a plan (plan role only), got roles {sorted(roles_run)}")
        if situation == "push to main" and roles_run != {"image", "plan", "apply"}:
            errors.append(f"{situation}: expected the image, plan and apply roles, got {sorted(roles_run)}")
        if situation == "workflow_dispatch on a branch" and roles_run:
            errors.append(f"{situation}: assumes {sorted(roles_run)} off main")

    # Point 12: the apply job applies the reviewed plan file.
    apply_jobs = [n for n, j in jobs.items() if "apply" in job_roles(j)]
    for name in apply_jobs:
        runs = "\n".join(str(st.get("run", "")) for st in jobs[name].get("steps", []))
        applies = [l for l in runs.splitlines() if re.search(r"terraform\s+apply", l)]
        if not applies or any("-auto-approve" in l or "-var" in l or not re.search(r"\s\S*tfplan\s*$", l) for l in applies):
            errors.append(f"job {name}: must run `terraform apply <saved plan>` (no -auto-approve, no re-plan): {applies}")
        if "sha256sum --check" not in runs:
            errors.append(f"job {name}: must check the saved plan's SHA-256 against the plan job's output")
        needs = jobs[name].get("needs", [])
        if not any("-out" in str(st.get("run", "")) for n in needs for st in jobs.get(n, {}).get("steps", [])):
            errors.append(f"job {name}: needs no job that saves a plan (terraform plan -out)")

    # Point 4: the path filters cover the build context and the hash script.
    wanted = {"docker/Dockerfile", ".dockerignore", "scripts/source-hash.sh"}
    for line in (root / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line.startswith("!"):
            p = line[1:].strip().rstrip("/")
            wanted.add(f"{p}/**" if (root / p).is_dir() else p)
    for event in ("pull_request", "push"):
        filters = [glob_regex(p) for p in (on.get(event) or {}).get("paths", [])]
        # A folder is covered when a file two levels down in it would trigger the workflow.
        samples = {w: (w[:-3] + "/a/b.rs" if w.endswith("/**") else w) for w in wanted}
        missing = {w for w, sample in samples.items() if not any(f.match(sample) for f in filters)}
        if missing:
            errors.append(f"on.{event}.paths misses {sorted(missing)}: a change there would not rebuild the image")

    # Point 10: checkov silently drops a workflow whose cancel-in-progress is an expression.
    if re.search(r"cancel-in-progress:\s*\$\{\{", text):
        errors.append("cancel-in-progress must be a literal true/false (checkov drops the whole file otherwise)")
    return errors


def glob_regex(pattern: str) -> re.Pattern:
    """GitHub's filter globs: ** crosses folders, * and ? do not."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(f"^{out}$")


def load(path: Path) -> tuple[dict, str]:
    text = path.read_text()
    return yaml.safe_load(text), text


# --- Self-test: each known-bad change must be caught ---------------------------------------------

def mutations(wf: dict) -> list[tuple[str, dict]]:
    out = []

    def mut(desc, fn):
        w = copy.deepcopy(wf)
        fn(w)
        out.append((desc, w))

    def pr_image(w):  # the old pipeline: the image job pushes for pull requests too
        w["jobs"]["image"]["if"] = "github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name == github.repository"
    mut("the image job runs (and pushes) for pull requests", pr_image)
    mut("the pull-request build pushes", lambda w: w["jobs"]["image-check"]["steps"][-1]["with"].__setitem__("push", True))
    mut("the plan job leaves the reviewed environment", lambda w: w["jobs"]["plan"].pop("environment"))
    mut("the plan job runs for Dependabot", lambda w: w["jobs"]["plan"].__setitem__("if", "github.event_name == 'pull_request'"))
    mut("the apply job re-plans with -auto-approve", lambda w: [st.__setitem__("run", "terraform apply -input=false -auto-approve -var-file=\"$TF_VAR_FILE\"") for st in w["jobs"]["apply"]["steps"] if "terraform apply" in str(st.get("run", ""))])
    mut("the apply job runs outside production", lambda w: w["jobs"]["apply"].pop("environment"))
    def pr_tag(w):
        w["jobs"]["tag-deployed"]["needs"] = []
        w["jobs"]["tag-deployed"]["if"] = "github.event_name == 'pull_request' || github.ref == 'refs/heads/main'"
    mut("the deployed-tag job runs for pull requests", pr_tag)
    mut("vendor/ left out of the path filters", lambda w: [w[True][e]["paths"].remove("vendor/**") for e in ("pull_request", "push")])
    mut("pull_request_target trigger", lambda w: w[True].__setitem__("pull_request_target", {}))
    mut("the skip notice is gone", lambda w: w["jobs"].pop("plan-skipped"))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workflow", default=str(ROOT / ".github" / "workflows" / "deploy.yml"))
    ap.add_argument("--root", default=str(ROOT))
    ap.add_argument("--self-test", action="store_true")
    opts = ap.parse_args()
    root = Path(opts.root)
    wf, text = load(Path(opts.workflow))
    errors = check(wf, root, text)
    if opts.self_test:
        if errors:
            print("self-test needs a clean workflow first:\n  " + "\n  ".join(errors))
            return 1
        bad = 0
        for desc, w in mutations(wf):
            found = check(w, root, text)
            print(("ok    caught: " if found else "FAIL  missed: ") + desc + (f"  ({found[0]})" if found else ""))
            bad += 0 if found else 1
        return 1 if bad else 0
    for situation, s in SITUATIONS.items():
        running = jobs_that_run(wf, context_for(s))
        described = ["%s[%s]" % (j, "/".join(sorted(job_roles(wf["jobs"][j]))) or "-") for j in running]
        print(f"{situation}: {', '.join(described)}")
    if errors:
        print("\nFAIL\n  " + "\n  ".join(errors))
        return 1
    print("ok    deploy.yml matches the pipeline's threat model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
