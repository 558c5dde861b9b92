#!/usr/bin/env python3
"""Stages a release's installers and writes the updater's manifest (docs/release.md, step 4).

usage: release-manifest.py DIST VERSION BASE_URL OUT

DIST holds one folder per build (`bundle-<os>-<arch>`, as the release workflow downloads them).
Every installer and updater artifact is copied into OUT under a name unique across builds (both
macOS builds call theirs `Gatehouse.app.tar.gz`), and OUT/latest.json lists, per platform key the
updater looks up, the artifact's URL under BASE_URL and the text of its `.sig`. The workflow
uploads OUT's files first and latest.json last.
"""

import json
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

# (suffix of the artifact, bundle type in the platform key); the first match wins.
KINDS = [
    (".AppImage", "appimage"),
    (".deb", "deb"),
    ("-setup.exe", "nsis"),
    (".msi", "msi"),
    (".app.tar.gz", "app"),
]
INSTALLERS = (".deb", ".AppImage", ".msi", "-setup.exe", ".dmg", ".app.tar.gz")


def platform(build: str) -> tuple[str, str]:
    """`bundle-macos-aarch64` -> ("darwin", "aarch64")."""
    _, os_name, arch = build.split("-", 2)
    return {"linux": "linux", "windows": "windows", "macos": "darwin"}[os_name], arch


def main(dist: Path, version: str, base_url: str, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    platforms = {}
    for build in sorted(p for p in dist.iterdir() if p.is_dir() and p.name.startswith("bundle-")):
        os_name, arch = platform(build.name)
        for f in sorted(build.rglob("*")):
            if not f.is_file() or not f.name.endswith(INSTALLERS):
                continue
            staged = f.name
            if f.name.endswith(".app.tar.gz") and arch not in f.name:
                staged = f.name.replace(".app.tar.gz", f"_{arch}.app.tar.gz")
            shutil.copyfile(f, out / staged)
            sig = f.with_name(f.name + ".sig")
            kind = next((k for suffix, k in KINDS if f.name.endswith(suffix)), None)
            if kind is None or not sig.is_file():
                continue
            shutil.copyfile(sig, out / (staged + ".sig"))
            platforms[f"{os_name}-{arch}-{kind}"] = {
                "url": f"{base_url.rstrip('/')}/{staged}",
                "signature": sig.read_text().strip(),
            }
    if not platforms:
        sys.exit("no signed updater artifact found: were the builds signed?")
    manifest = {
        "version": version,
        "notes": f"Gatehouse {version}",
        "pub_date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "platforms": platforms,
    }
    (out / "latest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4]))
