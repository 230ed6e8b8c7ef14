"""Names from metadata: espeak-ng speech of the BBC fixture's own text, primed vs not.

The original BBC audio is not here, so ``espeak-ng`` reads the fixture transcript's
bullet texts (``../shared/fixtures/bbc-putin-direct-talks.md``, the first ``--seconds``
of them) into a 16 kHz WAV. talkdown transcribes it with priming variants built from the
fixture's title, keywords and description (``TranscribeOptions(initial_prompt=…,
hotwords=…)``), and with none. A control passage whose metadata names nobody (sonnets
1 and 2 via espeak-ng) gets the same priming: its WER must not get worse.

A "sidecar" variant also writes a yt-dlp-style ``.info.json`` (title, channel, tags,
description) beside the WAV, so whatever priming talkdown builds from metadata itself
is measured end to end (it equals "none" while talkdown does not prime).

Name recall: for each name (aliases: Kyiv = Kiev), min(occurrences in hypothesis,
occurrences in reference) summed / occurrences in the reference, on normalised text.

    .venv/bin/python bench/names.py [--seconds 759] [--voice en-gb] [--rate 165] [--option beam_size=5]
        [--variants none,glossary,hotwords,...]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import _audio
from _audio import corpus, table

FIXTURE = corpus.FIXTURES / "bbc-putin-direct-talks.md"
NAMES = {
    "Keir Starmer": ["keir starmer"], "Dmitry Peskov": ["dmitry peskov", "peskov"], "Zelensky": ["zelensky"],
    "Kyiv": ["kyiv", "kiev"], "Witkoff": ["witkoff"], "Istanbul": ["istanbul"],
    "Vitaly Shevchenko": ["vitaly shevchenko"], "Putin": ["putin"], "Macron": ["macron"], "Trump": ["trump"],
    "Erdogan": ["erdogan"],
}
# Words that start capitalised runs in descriptions but are titles or calendar words.
_NOT_NAMES = {
    "The", "A", "An", "In", "On", "At", "For", "Of", "And", "But", "To", "Subscribe", "Sir", "Mr", "Mrs", "Prime",
    "Minister", "President", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December", "UK", "US", "He", "She", "It", "They", "We", "This", "That", "Here", "More",
    "News", "World", "Video", "Let", "Russian", "European", "Kremlin", "Ukrainian", "Putin's",
}


def parse_fixture(seconds: float) -> dict:
    text = FIXTURE.read_text(encoding="utf-8")
    bullets = [(int(h) * 3600 + int(m) * 60 + int(s), t) for t, h, m, s in
               re.findall(r"^\*\s+(.*?)\s*\[\[(\d\d):(\d\d):(\d\d)\]", text, re.MULTILINE)]
    title = re.search(r"^# (.+)$", text, re.MULTILINE).group(1).strip()
    keywords = re.search(r"^Video Keywords: \[(.*)\]", text, re.MULTILINE).group(1)
    keywords = [k.strip(" '\"") for k in keywords.split(",")]
    desc = re.search(r"^Video Description: (.*?)^---", text, re.MULTILINE | re.DOTALL).group(1)
    channel = re.search(r"^\*\*(.+?):\*\*", text, re.MULTILINE)
    return {
        "title": title, "keywords": keywords, "channel": channel.group(1) if channel else "",
        "description": desc.strip(),
        "speech": "\n".join(t for s, t in bullets if s < seconds),
    }


def clean_description(desc: str) -> str:
    keep = []
    for line in desc.splitlines():
        line = line.strip()
        if not line or "http" in line or "www." in line or line.startswith("#"):
            continue
        keep.append(line)
    return " ".join(keep)


def names_in(*texts: str) -> list[str]:
    """Capitalised runs ("Keir Starmer", "Kyiv") in the metadata, titles and calendar words cut out."""
    out: list[str] = []
    for text in texts:
        for run in re.findall(r"[A-Z][a-zA-Z'’-]+(?:\s+[A-Z][a-zA-Z'’-]+)*", text):
            words, cur = run.split(), []
            for w in words + ["The"]:
                w2 = w.rstrip("'’s") if w.endswith(("'s", "’s")) else w
                if w2 in _NOT_NAMES or w in _NOT_NAMES:
                    if cur and " ".join(cur) not in out:
                        out.append(" ".join(cur))
                    cur = []
                else:
                    cur.append(w2)
    # keep Russia/Ukraine etc. but drop the channel's own brand words and one-letter noise
    out = [n for n in out if len(n) > 2 and n.upper() != n]
    # "Putin" is in "Vladimir Putin": keep the longer form only
    return [n for n in out if not any(n != m and f" {n} " in f" {m} " for m in out)]


def variants(meta: dict) -> dict[str, dict[str, str | None]]:
    desc = clean_description(meta["description"])
    names = names_in(meta["title"], desc)
    listed = ", ".join(names)
    glossary = f"Glossary: {listed}."
    return {
        "none": {},
        "title": {"initial_prompt": meta["title"]},
        "title+description": {"initial_prompt": f"{meta['title']}. {desc}"},
        "glossary": {"initial_prompt": glossary},
        "hotwords": {"hotwords": listed},
        "hotwords.": {"hotwords": f"{listed}."},
        "glossary+hotwords": {"initial_prompt": glossary, "hotwords": listed},
        "sidecar": {},  # .info.json beside the WAV: talkdown's own metadata priming
    }


def sentence_ends(text: str) -> int:
    """Full stops, question and exclamation marks: WER ignores them, lines are cut at them
    (a prompt without punctuation had made the decoder leave them out)."""
    return len(re.findall(r"\w[.!?]+(?:\s|$)", text))


def speak(text: str, out: Path, voice: str, rate: int) -> Path:
    if not shutil.which("espeak-ng"):
        raise SystemExit("espeak-ng is missing: apt-get install -y espeak-ng")
    raw = out.with_suffix(".22k.wav")
    src = out.with_suffix(".txt")
    src.write_text(text, encoding="utf-8")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(raw), "-f", str(src)], check=True,
                   capture_output=True)
    corpus.write_wav(out, corpus.decode16k(raw))
    raw.unlink()
    return out


def write_sidecar(wav: Path, meta: dict, video_id: str) -> Path:
    info = {
        "id": video_id, "extractor": "youtube", "extractor_key": "Youtube", "title": meta["title"],
        "channel": meta["channel"], "uploader": meta["channel"], "tags": meta["keywords"],
        "description": meta["description"], "duration": None,
        "webpage_url": f"https://www.youtube.com/watch?v={video_id}",
    }
    side = wav.with_suffix(".info.json")
    side.write_text(json.dumps(info), encoding="utf-8")
    return side


def recall(ref: str, hyp: str) -> tuple[int, int, dict[str, tuple[int, int]]]:
    r, h = f" {corpus.normalise(ref)} ", f" {corpus.normalise(hyp)} "
    per, hit, total = {}, 0, 0
    for name, aliases in NAMES.items():
        rc = sum(r.count(f" {a} ") for a in aliases)
        # "peskov" alone would double-count "dmitry peskov": count the longest alias only when present
        if name == "Dmitry Peskov":
            rc, hc = r.count(" peskov "), h.count(" peskov ")
        else:
            hc = sum(h.count(f" {a} ") for a in aliases)
        if rc:
            per[name] = (min(rc, hc), rc)
            hit += min(rc, hc)
            total += rc
    return hit, total, per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _audio.add_option_args(ap)
    ap.add_argument("--seconds", type=float, default=759, help="fixture bullets that start before this time")
    ap.add_argument("--voice", default="en-gb")
    ap.add_argument("--rate", type=int, default=165, help="espeak-ng words per minute")
    ap.add_argument("--variants", default="none,title,title+description,glossary,hotwords,hotwords.,glossary+hotwords,sidecar")
    args = ap.parse_args()
    overrides = _audio.parse_overrides(args.option)
    meta = parse_fixture(args.seconds)
    control_text = "\n".join(corpus.clip(n).reference for n in ("p001", "p002"))
    allv = variants(meta)
    chosen = {k: allv[k] for k in args.variants.split(",")}
    print(f"talkdown ({_audio.describe(overrides)}), threads {args.threads}; espeak-ng -v {args.voice} -s {args.rate}")
    print("\n### Priming strings\n")
    for k, v in chosen.items():
        print(f"- **{k}**: " + ("; ".join(f"{kk}={vv!r}" for kk, vv in v.items()) or
                                 ("(.info.json sidecar beside the WAV)" if k == "sidecar" else "(nothing)")))
    rows, per_rows, diffs = [], [], []
    with tempfile.TemporaryDirectory() as d:
        speech = speak(meta["speech"], Path(d) / "bbc.wav", args.voice, args.rate)
        control = speak(control_text, Path(d) / "sonnets.wav", args.voice, args.rate)
        speech_s = len(corpus.decode16k(speech)) / _audio.SR
        control_s = len(corpus.decode16k(control)) / _audio.SR
        print(f"\nspeech: {speech_s:.0f} s, {len(corpus.normalise(meta['speech']).split())} words; "
              f"control (sonnets 1–2): {control_s:.0f} s")
        for k, extra in chosen.items():
            if k == "sidecar":
                sp = write_sidecar(speech, meta, "MGgDHevAc8A")
                ct = write_sidecar(control, {**meta, "title": "Shakespeare's Sonnets 1 and 2, read aloud",
                                             "description": "Two sonnets read aloud.", "keywords": ["poetry"],
                                             "channel": "A reader"}, "sonnets0001")
            eng = _audio.Talkdown(_audio.talkdown_options({**overrides, **extra}, args.threads))
            r = eng(speech)
            c = eng(control)
            if k == "sidecar":
                sp.unlink()
                ct.unlink()
            hit, total, per = recall(meta["speech"], r.text)
            e, n = corpus.errors_and_words(meta["speech"], r.text)
            ce, cn = corpus.errors_and_words(control_text, c.text)
            cover = sum(w[1] - w[0] for w in r.words) / speech_s
            rows.append([k, f"{hit}/{total} = {hit / total:.0%}" if total else "—", f"{e / n:.3f}",
                         f"{ce / cn:.3f}", f"{sentence_ends(r.text)} / {sentence_ends(meta['speech'])}",
                         f"{sentence_ends(c.text)} / {sentence_ends(control_text)}",
                         f"{len(r.words)}", f"{cover:.0%}", f"{r.seconds + c.seconds:.0f}"])
            per_rows.append([k] + [f"{per[nm][0]}/{per[nm][1]}" for nm in per])
            per_names = list(per)
            # what the hypothesis wrote where names should be
            diffs.append((k, r.text))
    print("\n## Name recall and WER by priming variant\n")
    print(table(["variant", "name recall", "WER", "WER control (sonnets)", "sentence ends (out / ref)",
                 "control sentence ends", "words out", "word-time coverage", "wall s"], rows))
    print("\n### Per name (recalled / in reference)\n")
    print(table(["variant", *per_names], per_rows))
    print("\n<details><summary>hypotheses (first 600 characters)</summary>\n")
    for k, text in diffs:
        print(f"- **{k}**: {text[:600]}")
    print("\n</details>")


if __name__ == "__main__":
    main()
