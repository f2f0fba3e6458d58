#!/usr/bin/env python3
"""Regenerates the README's pictures from the sample campaign's real output.

Usage: scripts/screenshots.py [--dunwell PATH]

Runs the sample campaign, its gallery and report into a temporary folder, then takes
each picture as a reader would see it: e-mails and pages in headless Chromium at a
phone's and a desktop's width (scripts/shoot.js, Playwright from tests/js), the letter
with poppler's pdftoppm. Needs what `scripts/test` installs, and CJK fonts for the
gallery's Japanese and Chinese cells (Debian's fonts-noto-cjk).
"""
import argparse
import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def manifest(out):
    with open(os.path.join(out, "manifest.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def first(rows, **want):
    for m in rows:
        if all(m.get(k) == v for k, v in want.items()):
            return m
    sys.exit(f"no message in the sample with {want}")


def html_part(exe, out, message_id, dest):
    raw = subprocess.run([exe, "outbox", "show", out, message_id], check=True,
                         capture_output=True).stdout
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_body(preferencelist=("html",))
    with open(dest, "w", encoding="utf-8") as f:
        f.write(body.get_content())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dunwell", help="the binary (default: a release build of this tree)")
    args = ap.parse_args()
    exe = args.dunwell
    if not exe:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        exe = os.path.join(target, "release", "dunwell")
    if not os.path.exists(os.path.join(ROOT, "tests", "js", "node_modules")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=os.path.join(ROOT, "tests", "js"), check=True)
    env = dict(os.environ, DUNWELL_LINK_SECRET=os.environ.get(
        "DUNWELL_LINK_SECRET", "screenshots-only-0f9c2a7d4e1b8c3a6f5d2e9b7a4c1d8e"))
    tmp = tempfile.mkdtemp(prefix="dunwell-shots-")
    try:
        campaign = os.path.join(ROOT, "samples", "campaign.yaml")
        out = os.path.join(tmp, "out")
        gallery = os.path.join(tmp, "gallery")
        subprocess.run([exe, "run", campaign, "--out", out], env=env, check=True, capture_output=True)
        subprocess.run([exe, "preview", campaign, "--out", gallery], env=env, check=True, capture_output=True)
        rows = manifest(out)
        img = os.path.join(ROOT, "docs", "img")
        images = os.path.join(ROOT, "docs", "images")
        jobs = []

        # The README's example e-mail (its text is quoted there) on a phone.
        pl = os.path.join(tmp, "email-pl.html")
        html_part(exe, out, "C0000127-email", pl)
        jobs.append({"url": "file://" + pl, "out": os.path.join(images, "email-pl-390.png"),
                     "width": 390, "height": 860, "full": True})
        # An unable customer's e-mail, English, on a desktop: the plan first.
        unable = first(rows, channel="email", cluster="unable", locale="en")
        en = os.path.join(tmp, "email-unable-en.html")
        html_part(exe, out, unable["id"], en)
        jobs.append({"url": "file://" + en, "out": os.path.join(images, "email-unable-en-1280.png"),
                     "width": 1280, "height": 1000, "full": True})
        # An Italian customer's payment page offered a plan, on a phone.
        page = first(rows, channel="web", cluster="unable", locale="it")
        jobs.append({"url": "file://" + os.path.join(out, page["path"]),
                     "out": os.path.join(img, "payment-page-it.png"),
                     "width": 420, "height": 900, "full": True})
        # The gallery: an Italian final notice as e-mail and SMS; then Polish letters.
        index = "file://" + os.path.join(gallery, "index.html")
        jobs.append({"url": index, "out": os.path.join(img, "gallery.png"), "width": 1400,
                     "height": 1050, "wait": 1500,
                     "select": {"f-cluster": "unwilling", "f-stage": "final_notice", "f-locale": "it"}})
        jobs.append({"url": index, "out": os.path.join(img, "gallery-letters.png"), "width": 1400,
                     "height": 900, "wait": 1500,
                     "select": {"f-cluster": "unable", "f-channel": "letter", "f-locale": "pl"}})
        jobs.append({"url": "file://" + os.path.join(out, "report.html"),
                     "out": os.path.join(img, "report.png"), "width": 1200, "height": 2300})
        spec = os.path.join(tmp, "jobs.json")
        with open(spec, "w") as f:
            json.dump(jobs, f)
        subprocess.run(["node", os.path.join(ROOT, "scripts", "shoot.js"), spec], check=True)

        # A Polish final notice, page 1, as printed (80 dpi: the README shows it 420 px wide).
        letter = first(rows, channel="letter", stage="final_notice", locale="pl")
        pdf = os.path.join(out, letter["path"])
        subprocess.run(["pdftoppm", "-r", "80", "-f", "1", "-l", "1", "-singlefile", "-png", pdf,
                        os.path.join(img, "letter-pl")], check=True)
        print("wrote " + os.path.join(img, "letter-pl.png") + f" ({letter['customer_id']})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
