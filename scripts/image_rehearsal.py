#!/usr/bin/env python3
"""Replays docker/Dockerfile without Docker: see scripts/image-rehearsal.sh for the usage.

What is real and what stands in:
  * The build context is computed from .dockerignore with Docker's matching rules (a pattern
    matches a path or any of its parents; the last matching pattern wins; "!" lets a path back
    in), and every COPY is carried out as written: sources from the context or from an earlier
    stage's files, destinations relative to the stage's WORKDIR, --chmod applied. A missing
    source fails the rehearsal as it fails `docker build`.
  * Every RUN of a stage built FROM another stage of this Dockerfile runs for real, in the
    stage's WORKDIR, with the stage's SHELL, ENV and ARGs (build arguments as Docker passes them).
  * Stages FROM a base image (the toolchain and the runtime) cannot run here: their RUN lines
    (dnf, pip, rustup) are replaced by the host, with the versions the Dockerfile's ARGs name:
    the Rust toolchain RUST_VERSION (through RUSTUP_TOOLCHAIN), cargo-chef CARGO_CHEF_VERSION and
    zig/cargo-zigbuild ZIG_VERSION/CARGO_ZIGBUILD_VERSION, installed into .tools/ and cached.
  * The target is the host's architecture (LAMBDA_ARCH=x86_64 on an x86_64 machine): the Rust
    standard library for aarch64 cannot be installed here. zig still links against the pinned
    glibc, and the binary's GLIBC symbol versions are checked against GLIBC_VERSION.
  * --profile fast (the default) lowers the cost of the release profile through
    CARGO_PROFILE_RELEASE_* variables (opt-level 0, no LTO, 256 codegen units); the commands
    are the Dockerfile's. --profile dockerfile builds with the crate's release profile as is.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools"

# Environment of base images the runtime stage may refer to (ENV of the image, not of ours).
KNOWN_BASE_ENV = {
    "public.ecr.aws/lambda/": {"LAMBDA_RUNTIME_DIR": "/var/runtime", "LAMBDA_TASK_ROOT": "/var/task"},
}

FAST_PROFILE = {
    "CARGO_PROFILE_RELEASE_OPT_LEVEL": "0",
    "CARGO_PROFILE_RELEASE_LTO": "false",
    "CARGO_PROFILE_RELEASE_CODEGEN_UNITS": "256",
    "CARGO_PROFILE_RELEASE_DEBUG": "0",
    "CARGO_PROFILE_RELEASE_INCREMENTAL": "false",
}


class RehearsalError(Exception):
    pass


def log(msg: str) -> None:
    print(msg, flush=True)


# --- Dockerfile parsing ---------------------------------------------------------------------------


@dataclass
class Instruction:
    line: int
    keyword: str
    rest: str


@dataclass
class Stage:
    index: int
    base: str
    platform: str | None
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name or f"stage-{self.index}"


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Joins continuation lines; drops comments and parser directives, as Docker does."""
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#"):
            continue  # comments, also inside a continued instruction
        if not buf and not stripped:
            continue
        if not buf:
            start = n
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        buf += raw
        if buf.strip():
            out.append((start, buf.strip()))
        buf = ""
    if buf.strip():
        out.append((start, buf.strip()))
    return out


def parse_dockerfile(text: str) -> tuple[list[Instruction], list[Stage]]:
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    for n, line in logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "FROM":
            words = rest.split()
            plat = None
            while words and words[0].startswith("--"):
                flag = words.pop(0)
                if flag.startswith("--platform="):
                    plat = flag.split("=", 1)[1]
            base = words[0]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(len(stages), base, plat, name))
        elif not stages:
            if keyword != "ARG":
                raise RehearsalError(f"Dockerfile line {n}: only ARG may come before the first FROM")
            global_args.append(Instruction(n, keyword, rest))
        else:
            stages[-1].instructions.append(Instruction(n, keyword, rest))
    if not stages:
        raise RehearsalError("the Dockerfile has no FROM")
    return global_args, stages


def parse_arg(rest: str) -> list[tuple[str, str | None]]:
    out = []
    for word in shlex.split(rest):
        name, eq, default = word.partition("=")
        out.append((name, default if eq else None))
    return out


def parse_env(rest: str) -> list[tuple[str, str]]:
    words = shlex.split(rest)
    if words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]  # legacy "ENV KEY value"
    return [tuple(w.split("=", 1)) for w in words]  # type: ignore[misc]


_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand(value: str, env: dict[str, str], where: str) -> str:
    """Docker's variable substitution (${X}, $X, ${X:-default}, ${X:+alt})."""

    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(4)
        op, word = m.group(2), m.group(3)
        val = env.get(name)
        if op == "-":
            return val if val else word
        if op == "+":
            return word if val else ""
        if val is None:
            raise RehearsalError(f"{where}: ${name} is not defined in this stage")
        return val

    return _VAR.sub(sub, value)


def split_flags(rest: str) -> tuple[dict[str, str], list[str]]:
    if rest.lstrip().startswith("["):
        return {}, json.loads(rest)
    words = shlex.split(rest)
    flags: dict[str, str] = {}
    while words and words[0].startswith("--"):
        key, _, val = words.pop(0)[2:].partition("=")
        flags[key] = val
    return flags, words


# --- The build context (.dockerignore) ------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern[i : i + 2] == "**":
                i += 2
                if pattern[i : i + 1] == "/":
                    i += 1
                    out += "(?:.*/)?"
                else:
                    out += ".*"
                continue
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(c)
        i += 1
    return re.compile(f"^{out}$")


class DockerIgnore:
    """Docker's .dockerignore semantics (moby/patternmatcher MatchesOrParentMatches)."""

    def __init__(self, text: str):
        self.patterns: list[tuple[bool, str, re.Pattern]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            if negated:
                line = line[1:].strip()
            line = os.path.normpath(line).lstrip("/")
            if line == ".":
                line = ""
            self.patterns.append((negated, line, _pattern_regex(line)))

    def excluded(self, path: str) -> bool:
        parents = []
        parts = path.split("/")
        for i in range(1, len(parts)):
            parents.append("/".join(parts[:i]))
        matched = False
        for negated, _, rx in self.patterns:
            if negated != matched:
                continue
            if rx.match(path) or any(rx.match(p) for p in parents):
                matched = not negated
        return matched

    def may_reinclude_under(self, directory: str) -> bool:
        """Whether a "!" pattern could let a path under an excluded directory back in."""
        for negated, text, _ in self.patterns:
            if not negated:
                continue
            literal = re.split(r"[*?\[\\]", text, maxsplit=1)[0]
            if literal != text and "/" not in literal:
                return True  # a wildcard in the first segment can match anything
            if text.startswith(directory + "/") or (literal != text and (directory + "/").startswith(literal)):
                return True
        return False


def build_context(root: Path, dest: Path, drop: list[str]) -> list[str]:
    ignore_file = root / ".dockerignore"
    ignore = DockerIgnore(ignore_file.read_text() if ignore_file.exists() else "")
    files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir
        keep = []
        for d in sorted(dirnames):
            rel = f"{rel_dir}/{d}" if rel_dir else d
            if ignore.excluded(rel) and not ignore.may_reinclude_under(rel):
                continue
            keep.append(d)
        dirnames[:] = keep
        for f in sorted(filenames):
            rel = f"{rel_dir}/{f}" if rel_dir else f
            if ignore.excluded(rel):
                continue
            if any(rel == d or rel.startswith(d.rstrip("/") + "/") for d in drop):
                continue
            files.append(rel)
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, target, follow_symlinks=False)
    return files


# --- Host stand-ins for the toolchain stage -------------------------------------------------------


def run_checked(cmd: list[str], **kw) -> None:
    proc = subprocess.run(cmd, **kw)
    if proc.returncode != 0:
        raise RehearsalError(f"command failed ({proc.returncode}): {' '.join(cmd)}")


def ensure_cargo_chef(version: str) -> Path:
    prefix = TOOLS / f"cargo-chef-{version}"
    binary = prefix / "bin" / "cargo-chef"
    if not binary.exists():
        log(f"  installing cargo-chef {version} into {prefix.relative_to(ROOT)} (cached)")
        run_checked(["cargo", "install", "cargo-chef", "--locked", "--version", version, "--root", str(prefix)])
    return binary.parent


def ensure_zigbuild(zig: str, zigbuild: str) -> Path:
    venv = TOOLS / f"zig-{zig}-cargo-zigbuild-{zigbuild}"
    marker = venv / ".installed"
    if not marker.exists():
        log(f"  installing ziglang {zig} and cargo-zigbuild {zigbuild} (PyPI) into {venv.relative_to(ROOT)} (cached)")
        run_checked([sys.executable, "-m", "venv", str(venv)])
        run_checked([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                     f"ziglang=={zig}", f"cargo-zigbuild=={zigbuild}"])
        marker.write_text("ok\n")
    return venv / "bin"


def toolchain_env(args: dict[str, str]) -> dict[str, str]:
    """The host's equivalent of the toolchain stage, at the versions its ARGs pin."""
    env: dict[str, str] = {}
    path: list[str] = []
    if "RUST_VERSION" in args:
        env["RUSTUP_TOOLCHAIN"] = args["RUST_VERSION"]
        out = subprocess.run(["rustc", "--version"], env={**os.environ, **env}, capture_output=True, text=True)
        if out.returncode != 0 or not out.stdout.startswith(f"rustc {args['RUST_VERSION']} "):
            raise RehearsalError(f"Rust {args['RUST_VERSION']} (RUST_VERSION) is not installed here: {out.stderr.strip() or out.stdout.strip()}")
        log(f"  Rust: {out.stdout.strip()} (RUSTUP_TOOLCHAIN={args['RUST_VERSION']})")
    if "CARGO_CHEF_VERSION" in args:
        path.append(str(ensure_cargo_chef(args["CARGO_CHEF_VERSION"])))
        log(f"  cargo-chef {args['CARGO_CHEF_VERSION']}")
    if "ZIG_VERSION" in args or "CARGO_ZIGBUILD_VERSION" in args:
        if not ("ZIG_VERSION" in args and "CARGO_ZIGBUILD_VERSION" in args):
            raise RehearsalError("ZIG_VERSION and CARGO_ZIGBUILD_VERSION go together")
        path.append(str(ensure_zigbuild(args["ZIG_VERSION"], args["CARGO_ZIGBUILD_VERSION"])))
        log(f"  ziglang {args['ZIG_VERSION']}, cargo-zigbuild {args['CARGO_ZIGBUILD_VERSION']}")
    env["PATH"] = os.pathsep.join(path + [os.environ.get("PATH", "")])
    return env


# --- Stages ---------------------------------------------------------------------------------------


@dataclass
class StageState:
    rootfs: Path
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    shell: list[str] = field(default_factory=lambda: ["/bin/sh", "-c"])
    external: bool = False
    host_env: dict[str, str] = field(default_factory=dict)
    # ENV of a base image and of the stages built on it, for ${...} only: on the host, a
    # toolchain stage's RUSTUP_HOME or PATH would point at folders that do not exist here.
    image_env: dict[str, str] = field(default_factory=dict)


def in_root(rootfs: Path, path: str) -> Path:
    return rootfs / path.lstrip("/")


def copy_into(src: Path, dest: Path, dest_is_dir: bool, chmod: int | None) -> None:
    if src.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dest, dirs_exist_ok=True, symlinks=True)
        if chmod is not None:
            for p in dest.rglob("*"):
                p.chmod(chmod)
        return
    target = dest / src.name if dest_is_dir else dest
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, target, follow_symlinks=False)
    if chmod is not None:
        target.chmod(chmod)


def rehearse(opts: argparse.Namespace) -> None:
    dockerfile = Path(opts.dockerfile).resolve()
    global_args, stages = parse_dockerfile(dockerfile.read_text())
    work = Path(tempfile.mkdtemp(prefix="image-rehearsal.", dir=opts.workdir))
    log(f"rehearsal of {dockerfile} in {work}")

    # Build arguments: the Dockerfile's defaults, automatic platform arguments, --build-arg.
    host_arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]
    docker_arch = {"x86_64": "amd64", "arm64": "arm64"}[host_arch]
    overrides = dict(kv.split("=", 1) for kv in opts.build_arg)
    overrides.setdefault("LAMBDA_ARCH", host_arch)
    auto = {"BUILDPLATFORM": f"linux/{docker_arch}", "BUILDARCH": docker_arch, "BUILDOS": "linux"}
    global_scope: dict[str, str] = dict(auto)
    for ins in global_args:
        for name, default in parse_arg(ins.rest):
            val = overrides.get(name, default)
            if val is not None:
                global_scope[name] = expand(val, global_scope, f"line {ins.line}")
    log(f"build arguments: {', '.join(f'{k}={v}' for k, v in sorted(global_scope.items()))}"
        f"  (LAMBDA_ARCH is the host's: the aarch64 standard library cannot be installed here)")

    context = work / "context"
    context.mkdir()
    files = build_context(Path(opts.context).resolve(), context, opts.drop)
    log(f"build context: {len(files)} files through .dockerignore"
        + (f", dropped for this run: {', '.join(opts.drop)}" if opts.drop else ""))

    target_cache = Path(opts.target_dir).resolve()
    target_cache.mkdir(parents=True, exist_ok=True)
    profile_env = FAST_PROFILE if opts.profile == "fast" else {}
    states: dict[str, StageState] = {}
    by_name: dict[str, Stage] = {}
    t_all = time.monotonic()

    for stage in stages:
        base = expand(stage.base, global_scope, f"FROM of {stage.label}")
        parent = by_name.get(base)
        rootfs = work / "stages" / stage.label
        if parent is not None:
            p = states[parent.label]
            if p.rootfs.exists():
                shutil.copytree(p.rootfs, rootfs, symlinks=True)
            else:
                rootfs.mkdir(parents=True)
            st = StageState(rootfs, p.workdir, dict(p.env), list(p.shell), False, dict(p.host_env), dict(p.image_env))
            log(f"\n=== [{stage.label}] FROM {base} (a stage of this Dockerfile)")
        else:
            rootfs.mkdir(parents=True)
            env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
            for prefix, values in KNOWN_BASE_ENV.items():
                if base.startswith(prefix):
                    env.update(values)
            st = StageState(rootfs, "/", {}, ["/bin/sh", "-c"], True, {}, env)
            log(f"\n=== [{stage.label}] FROM {base} (base image: its RUN lines are stood in for by the host)")
        args: dict[str, str] = {}

        for ins in stage.instructions:
            where = f"line {ins.line} [{stage.label}] {ins.keyword}"
            scope = {**st.image_env, **args, **st.env}
            if ins.keyword == "ARG":
                for name, default in parse_arg(ins.rest):
                    # Docker: a --build-arg wins, then the stage's default, then the global ARG.
                    val = overrides.get(name, default if default is not None else global_scope.get(name))
                    if val is None:
                        continue
                    args[name] = expand(val, {**st.image_env, **args, **st.env}, where)
            elif ins.keyword == "ENV":
                for k, v in parse_env(ins.rest):
                    if st.external:
                        st.image_env[k] = expand(v, scope, where)
                    else:
                        st.env[k] = expand(v, scope, where)
            elif ins.keyword == "WORKDIR":
                wd = expand(ins.rest, scope, where)
                st.workdir = wd if wd.startswith("/") else os.path.join(st.workdir, wd)
                in_root(rootfs, st.workdir).mkdir(parents=True, exist_ok=True)
            elif ins.keyword == "SHELL":
                st.shell = json.loads(ins.rest)
            elif ins.keyword in ("COPY", "ADD"):
                if ins.keyword == "ADD":
                    raise RehearsalError(f"{where}: ADD is not rehearsed; use COPY")
                flags, words = split_flags(ins.rest)
                words = [expand(w, scope, where) for w in words]
                srcs, dest = words[:-1], words[-1]
                if "from" in flags:
                    src_stage = by_name.get(flags["from"])
                    if src_stage is None:
                        raise RehearsalError(f"{where}: --from={flags['from']} is not an earlier stage")
                    src_root = states[src_stage.label].rootfs
                    src_base = "/"
                else:
                    src_root, src_base = context, ""
                dest_path = dest if dest.startswith("/") else os.path.join(st.workdir, dest)
                dest_is_dir = dest.endswith("/") or len(srcs) > 1 or in_root(rootfs, dest_path).is_dir() or dest in (".", "./")
                chmod = int(flags["chmod"], 8) if flags.get("chmod") else None
                for s in srcs:
                    pattern = str(src_root / (s.lstrip("/") if src_base else s))
                    matches = sorted(glob.glob(pattern)) if any(c in s for c in "*?[") else ([pattern] if os.path.lexists(pattern) else [])
                    if not matches:
                        origin = f"stage {flags['from']}" if "from" in flags else "the build context"
                        raise RehearsalError(f"{where}: {s} not found in {origin} (docker build fails: \"{s}\": not found)")
                    for m in matches:
                        mp = Path(m)
                        if mp.is_dir() and s.rstrip("/") in (".", ""):
                            copy_into(mp, in_root(rootfs, dest_path), True, chmod)
                        elif mp.is_dir():
                            copy_into(mp, in_root(rootfs, dest_path), True, chmod)
                        else:
                            copy_into(mp, in_root(rootfs, dest_path), dest_is_dir, chmod)
                log(f"  COPY {ins.rest}  -> {dest_path}")
            elif ins.keyword == "RUN":
                if st.external:
                    log(f"  (host stands in) RUN {ins.rest[:90]}{'...' if len(ins.rest) > 90 else ''}")
                    continue
                cmd = ins.rest
                if st.workdir != "/" and st.workdir in cmd:
                    raise RehearsalError(f"{where}: uses the absolute path {st.workdir}; use paths relative to WORKDIR so the rehearsal can map them")
                cwd = in_root(rootfs, st.workdir)
                cwd.mkdir(parents=True, exist_ok=True)
                target = cwd / "target"
                if not target.exists():
                    target.symlink_to(target_cache)
                env = {**os.environ, **st.host_env, **profile_env, **args, **st.env}
                env["PATH"] = st.host_env.get("PATH", os.environ["PATH"])
                log(f"  RUN {cmd}")
                t0 = time.monotonic()
                proc = subprocess.run(st.shell + [cmd], cwd=cwd, env=env)
                log(f"  ... exit {proc.returncode} after {time.monotonic() - t0:.0f} s")
                if proc.returncode != 0:
                    raise RehearsalError(f"{where} failed (exit {proc.returncode}): {cmd}")
            elif ins.keyword in ("LABEL", "USER", "HEALTHCHECK", "CMD", "ENTRYPOINT", "EXPOSE", "STOPSIGNAL", "VOLUME"):
                pass
            else:
                raise RehearsalError(f"{where}: the rehearsal does not know {ins.keyword}")

        if st.external and any(i.keyword == "RUN" for i in stage.instructions):
            # The toolchain stage: its tools come from the host at the ARGs' versions. The host
            # stands in only for what the stage really installs: each version ARG must be used.
            runs = " ".join(i.rest for i in stage.instructions if i.keyword == "RUN")
            for name in ("RUST_VERSION", "CARGO_CHEF_VERSION", "ZIG_VERSION", "CARGO_ZIGBUILD_VERSION"):
                if name in args and not re.search(r"\$\{?" + name + r"\b", runs):
                    raise RehearsalError(f"[{stage.label}] ARG {name} is used by no RUN: the image would not get the tool the rehearsal stands in for")
            log("  host toolchain for this stage:")
            st.host_env = toolchain_env(args)
        states[stage.label] = st
        by_name[stage.label] = stage
        if stage.name:
            by_name[stage.name] = stage

    final = states[stages[-1].label]
    check_runtime(stages[-1], final, opts, global_scope.get("LAMBDA_ARCH", host_arch))
    log(f"\nimage rehearsal passed in {time.monotonic() - t_all:.0f} s")
    if not opts.keep:
        shutil.rmtree(work, ignore_errors=True)


def check_runtime(stage: Stage, st: StageState, opts: argparse.Namespace, arch: str) -> None:
    """The binary landed where the runtime stage starts it, and it runs on the Lambda glibc."""
    log("\n=== checks of the runtime stage")
    copies = [i for i in stage.instructions if i.keyword == "COPY"]
    if not copies:
        raise RehearsalError("the runtime stage copies nothing")
    bootstrap = in_root(st.rootfs, "/var/runtime/bootstrap")
    if not bootstrap.is_file():
        raise RehearsalError("nothing at /var/runtime/bootstrap, where provided.al2023 starts the function")
    mode = bootstrap.stat().st_mode
    if not mode & stat.S_IXOTH:
        raise RehearsalError(f"/var/runtime/bootstrap is not executable by everyone (mode {oct(mode)})")
    log(f"ok    /var/runtime/bootstrap: {bootstrap.stat().st_size / 1e6:.1f} MB, mode {oct(mode & 0o777)}")
    header = subprocess.run(["readelf", "-h", str(bootstrap)], capture_output=True, text=True)
    if header.returncode != 0:
        raise RehearsalError("/var/runtime/bootstrap is not an ELF binary")
    machine = re.search(r"Machine:\s+(.*)", header.stdout).group(1).strip()
    expected = {"x86_64": "X86-64", "arm64": "AArch64"}[arch]
    if expected not in machine:
        raise RehearsalError(f"the binary is for {machine}, not LAMBDA_ARCH={arch}")
    log(f"ok    ELF for {machine} (LAMBDA_ARCH={arch})")
    syms = subprocess.run(["readelf", "-V", "--wide", str(bootstrap)], capture_output=True, text=True).stdout
    versions = sorted({tuple(int(x) for x in v.split(".")) for v in re.findall(r"GLIBC_([0-9]+(?:\.[0-9]+)+)", syms)})
    newest = ".".join(map(str, versions[-1])) if versions else "none"
    limit = tuple(int(x) for x in opts.glibc.split("."))
    if versions and versions[-1] > limit:
        raise RehearsalError(f"the binary needs GLIBC_{newest}, newer than the runtime's {opts.glibc}")
    log(f"ok    newest glibc symbol version GLIBC_{newest} <= {opts.glibc} (provided.al2023)")
    run = subprocess.run([str(bootstrap), "--help"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    if run.returncode != 0 or "Usage" not in run.stdout:
        raise RehearsalError(f"bootstrap --help failed ({run.returncode}): {run.stderr[:400]}")
    log("ok    bootstrap --help runs")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dockerfile", default=str(ROOT / "docker" / "Dockerfile"))
    ap.add_argument("--context", default=str(ROOT))
    ap.add_argument("--build-arg", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--drop", action="append", default=[], metavar="PATH",
                    help="leave PATH out of the build context (to show that the rehearsal fails)")
    ap.add_argument("--profile", choices=["fast", "dockerfile"], default=os.environ.get("REHEARSAL_PROFILE", "fast"))
    ap.add_argument("--target-dir", default=os.environ.get("REHEARSAL_TARGET_DIR", str(TOOLS / "rehearsal-target")),
                    help="cargo's target directory, shared by cook and build and kept between runs")
    ap.add_argument("--glibc", default="2.34", help="newest glibc the runtime has")
    ap.add_argument("--workdir", default=None, help="where the temporary stage folders go")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    ap.add_argument("--list-context", action="store_true",
                    help="only print the build context's files (Docker's .dockerignore rules), one per line")
    opts = ap.parse_args()
    if opts.list_context:
        with tempfile.TemporaryDirectory(prefix="context.") as tmp:
            print("\n".join(sorted(build_context(Path(opts.context).resolve(), Path(tmp), opts.drop))))
        return 0
    try:
        rehearse(opts)
    except RehearsalError as e:
        log(f"\nimage rehearsal FAILED: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
