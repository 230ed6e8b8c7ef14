"""Names from metadata, for priming the decoder: pure text work on real metadata."""

from __future__ import annotations

import corpus
from factories import media
from talkdown import info
from talkdown.parse import parse_markdown
from talkdown.prime import hotwords, names


def test_the_fixtures_names_come_out_and_its_furniture_does_not() -> None:
    m = parse_markdown((corpus.FIXTURES / "bbc-putin-direct-talks.md").read_text()).media
    found = names(m)
    for name in ("Putin", "Keir Starmer", "Dmitry Peskov", "Kyiv", "Kremlin", "Ukraine"):
        assert name in found
    for furniture in ("Subscribe", "For", "On Saturday", "In", "Prime Minister Sir Keir Starmer", "Sir", "BBC"):
        assert furniture not in found
    assert not any(n.startswith(("http", "#", "www")) for n in found)


def test_real_info_json_names() -> None:
    m = info.load_info_json(corpus.FIXTURES / "youtube/tubesync/JjQDik3yNhA.info.json")
    assert {"Miiverse", "Mental Outlaw"} <= set(names(m))


def test_metadata_that_names_nobody_primes_nothing() -> None:
    assert hotwords(media(title="a talk about the weather", description="we talk. it rains.", tags=())) is None
    assert hotwords(media(title="Learn more", description="Subscribe for more!", tags=())) is None


def test_familiar_single_words_are_left_out_of_hotwords(transcriber) -> None:  # type: ignore[no-untyped-def]
    m = parse_markdown((corpus.FIXTURES / "bbc-putin-direct-talks.md").read_text()).media
    chosen = (hotwords(m, transcriber.familiar) or "").removesuffix(".").split(", ")
    assert {"Vladimir Putin", "Keir Starmer", "Dmitry Peskov", "Kyiv"} <= set(chosen)
    assert not {"Russia", "Moscow", "Ukraine", "Putin"} & set(chosen)  # one token each: the model knows them
