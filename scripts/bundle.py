#!/usr/bin/env python3
"""Builds the browser bundle into dist/: the app's `hydrate` bin for wasm32, wasm-bindgen
(the exact version in Cargo.lock), wasm-opt -Oz, content-hashed file names with SRI
hashes, precompressed .gz copies, and dist/index.html whose <head> the server puts into
every page (with /__heymax_base__/ replaced by the site's base path).

This replaces trunk: trunk did only these steps for heymax, and installing it from source
took about 5 minutes of a fresh machine's first run (issue 19). The output has the same
shape as trunk's, so the server and the static export read it unchanged. Plotly.js is the
partial bundle scripts/plotly/build.mjs makes (only the trace types heymax draws).

The bundle is committed (dist/), so a new machine's first run needs neither wasm-bindgen,
npm nor a wasm build (issue 19: those were 11 of its 20 minutes). dist/index.html records a
digest of every source the bundle is built from (SOURCES below); `--check` compares it with
the sources as they are, and the scripts rebuild only when they differ (CI always does; the
test command fails on a committed bundle that is not built from the committed sources).

Usage: scripts/bundle.py [--skip-cargo] [--out DIR]   (CARGO_TARGET_DIR as in scripts/env.sh)
       scripts/bundle.py --check   exit 0 when dist/ is built from the sources as they are
"""

import base64
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# As scripts/env.sh: a build cache outside the clone unless CARGO_TARGET_DIR says otherwise.
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or Path.home() / ".cache/heymax/target")
DIST = Path(sys.argv[sys.argv.index("--out") + 1]).resolve() if "--out" in sys.argv else ROOT / "dist"
BASE = "/__heymax_base__/"  # the server's placeholder (server/src/web/shell.rs)
PLOTLY = ROOT / "build/plotly/plotly.min.js"  # scripts/plotly/build.mjs
NPM_BIN = ROOT / "node_modules/.bin"
# What the bundle is built from: the app and every crate it compiles (workspace manifests,
# the lock file, the vendored tachys), its stylesheet and icon, Plotly's bundler and the
# npm lock, and this script. Not the toolchain: the same sources give the same program.
SOURCES = ["app", "contract", "vendor", "style", "public", "scripts/plotly", "scripts/bundle.py",
           "Cargo.toml", "Cargo.lock", "package.json", "package-lock.json"]
SKIP = {"target", "node_modules", "__pycache__"}
DIGEST_MARK = "<!-- bundle sources sha256:"


def run(*args):
    print("+", " ".join(str(a) for a in args), file=sys.stderr, flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT)


def short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def sources_digest() -> str:
    """sha256 over (path, content) of every file under SOURCES, in path order."""
    files = []
    for entry in SOURCES:
        path = ROOT / entry
        if path.is_file():
            files.append(path)
        for f in sorted(path.rglob("*")) if path.is_dir() else []:
            rel = f.relative_to(ROOT).parts
            if f.is_file() and not any(p in SKIP or p.startswith(".") for p in rel):
                files.append(f)
    h = hashlib.sha256()
    for f in sorted(set(files)):
        name = f.relative_to(ROOT).as_posix().encode()
        data = f.read_bytes()
        h.update(b"%d:%s%d:" % (len(name), name, len(data)))
        h.update(data)
    return h.hexdigest()


def check() -> None:
    current = sources_digest()
    try:
        html = (DIST / "index.html").read_text()
    except OSError:
        html = None
    start = html.find(DIGEST_MARK) if html else -1
    recorded = html[start + len(DIGEST_MARK):].split(" ", 1)[0] if start >= 0 else None
    if recorded == current:
        print(f"dist/ is built from the sources as they are (sha256 {current[:16]})", file=sys.stderr)
        sys.exit(0)
    what = ("has no bundle" if html is None else "records no source digest" if recorded is None
            else f"was built from other sources ({recorded[:16]})")
    print(f"dist/ {what}; the sources are {current[:16]}: rebuild it with scripts/bundle.py "
          "(and commit dist/ with the change)", file=sys.stderr)
    sys.exit(1)


def wasm_opt() -> str:
    """binaryen 116's wasm-opt: a native one on PATH (3 s here) if there is one, else the
    npm package's (12 s here, but installed in seconds instead of 8 minutes from source);
    Debian's binaryen 108 produces a bundle that fails at run time."""
    native = shutil.which("wasm-opt")
    if native:
        out = subprocess.run([native, "--version"], capture_output=True, text=True).stdout
        if "version 116" in out:
            return native
    npm = NPM_BIN / "wasm-opt"
    if npm.exists():
        return str(npm)
    sys.exit("wasm-opt (binaryen 116) not found: run `npm ci` (scripts/setup.sh does)")


def main() -> None:
    if "--check" in sys.argv:
        check()
    digest = sources_digest()
    if not (ROOT / "node_modules/plotly.js/package.json").is_file():
        sys.exit("node_modules/plotly.js is missing: run `npm ci` (scripts/setup.sh does)")
    run("node", "scripts/plotly/build.mjs")
    if "--skip-cargo" not in sys.argv:
        run("cargo", "build", "--locked", "--target-dir", TARGET, "--profile", "wasm-release",
            "--target", "wasm32-unknown-unknown", "-p", "heymax-app",
            "--bin", "hydrate", "--features", "hydrate")
    wasm = TARGET / "wasm32-unknown-unknown/wasm-release/hydrate.wasm"
    staging = DIST.with_name("dist.new")
    shutil.rmtree(staging, ignore_errors=True)
    bindgen = staging / ".bindgen"
    run("wasm-bindgen", "--target", "web", "--no-typescript",
        "--out-dir", bindgen, "--out-name", "hydrate", wasm)
    if (bindgen / "snippets").exists():
        sys.exit("wasm-bindgen wrote snippets/: bundle.py does not copy them yet")
    run(wasm_opt(), f"--output={bindgen / 'opt.wasm'}", "-Oz", bindgen / "hydrate_bg.wasm")

    js = (bindgen / "hydrate.js").read_bytes()
    wasm_bytes = (bindgen / "opt.wasm").read_bytes()
    css = (ROOT / "style/app.css").read_bytes()
    icon = (ROOT / "public/favicon.svg").read_bytes()
    h = short_hash(js + wasm_bytes)
    files = {
        f"hydrate-{h}.js": js,
        f"hydrate-{h}_bg.wasm": wasm_bytes,
        f"app-{short_hash(css)}.css": css,
        f"favicon-{short_hash(icon)}.svg": icon,
        "plotly.min.js": PLOTLY.read_bytes(),
    }
    shutil.rmtree(bindgen)
    for name, data in files.items():
        (staging / name).write_bytes(data)
        if name.endswith((".js", ".wasm", ".css")):
            # mtime 0: the same bytes give the same .gz, so rebuilds are reproducible.
            with open(staging / f"{name}.gz", "wb") as out:
                with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0, filename="") as z:
                    z.write(data)
    js_name, wasm_name, css_name, icon_name = list(files)[:4]
    head = f"""<script type="module">
import init from '{BASE}{js_name}';
await init({{ module_or_path: '{BASE}{wasm_name}' }});
</script>
    <link rel="stylesheet" href="{BASE}{css_name}" integrity="{sri(css)}"/>
    <link rel="icon" href="{BASE}{icon_name}" integrity="{sri(icon)}"/>
    <!-- Plotly.js loads async: it never blocks first paint or hydration; charts wait for it. -->
    <script id="plotly-js" async src="{BASE}plotly.min.js"></script>
    <link rel="modulepreload" href="{BASE}{js_name}" crossorigin="anonymous" integrity="{sri(js)}"><link rel="preload" href="{BASE}{wasm_name}" crossorigin="anonymous" integrity="{sri(wasm_bytes)}" as="fetch" type="application/wasm">"""
    (staging / "index.html").write_text(f"""<!DOCTYPE html>
{DIGEST_MARK}{digest} -->
<!-- Written by scripts/bundle.py. Only the head element is used: the server (and the static export) copy
     it into every server-rendered page, with __heymax_base__ replaced by the site's base path. -->
<html lang="en">
  <head>
    {head}
  </head>
  <body></body>
</html>
""")
    # Swap in whole, so a failed build leaves the previous bundle.
    old = DIST.with_name("dist.old")
    shutil.rmtree(old, ignore_errors=True)
    if DIST.exists():
        DIST.rename(old)
    staging.rename(DIST)
    shutil.rmtree(old, ignore_errors=True)
    for name, data in files.items():
        print(f"  dist/{name:<36} {len(data):>10,} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
