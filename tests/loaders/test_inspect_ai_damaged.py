"""Damaged, hostile and tampered Inspect .eval archives: a RunFormatError naming the
file and the member, never a traceback, unbounded memory or a silently dropped sample."""

from __future__ import annotations

import json
import re
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_runcompare.errors import RunFormatError
from pytest_runcompare.loaders.registry import load_run

Members = list[tuple[str, bytes]]


def members(real: Path, stem: str = "log_streaming") -> Members:
    with zipfile.ZipFile(real / "inspect_ai" / f"{stem}.eval") as archive:
        return [(i.filename, archive.read(i)) for i in archive.infolist()]


def write(path: Path, items: Members, method: int = zipfile.ZIP_DEFLATED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name"
        with zipfile.ZipFile(path, "w", compression=method) as archive:
            for name, data in items:
                archive.writestr(name, data)
    return path


def patch_member(
    path: Path, name: str, change: Callable[[bytearray, int, int], None]
) -> None:
    """Edit the local and central headers of one member (offsets into each)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        local = archive.getinfo(name).header_offset
    central = data.index(b"PK\x01\x02")
    while not data[central + 46 :].startswith(name.encode()):
        central = data.index(b"PK\x01\x02", central + 4)
    change(data, local, central)
    path.write_bytes(bytes(data))


def test_the_intact_log_loads_four_datapoints(real: Path, tmp_path: Path) -> None:
    run = load_run(write(tmp_path / "ok.eval", members(real)))
    assert sorted(run.ids) == ["1#epoch1", "1#epoch2", "2#epoch1", "2#epoch2"]
    assert run.warnings == ()


def test_corrupt_deflate_stream_is_a_format_error(real: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "bad.eval", members(real))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("samples/1_epoch_2.json")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename)
    data[start : start + 40] = b"\xff" * 40  # not a deflate stream any more
    path.write_bytes(bytes(data))
    with pytest.raises(
        RunFormatError,
        match=re.escape(f"{path}: cannot read samples/1_epoch_2.json from the .eval "),
    ):
        load_run(path)


def test_encrypted_member_is_a_format_error(real: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "enc.eval", members(real))

    def encrypt(data: bytearray, local: int, central: int) -> None:
        data[local + 6] |= 0x1
        data[central + 8] |= 0x1

    patch_member(path, "header.json", encrypt)
    with pytest.raises(
        RunFormatError,
        match=r"cannot read header\.json from the \.eval log: File .* is encrypted, "
        r"password required for extraction \(Inspect does not encrypt",
    ):
        load_run(path)


def test_unknown_compression_method_is_a_format_error(
    real: Path, tmp_path: Path
) -> None:
    path = write(tmp_path / "method.eval", members(real))

    def method(data: bytearray, local: int, central: int) -> None:
        struct.pack_into("<H", data, local + 8, 99)
        struct.pack_into("<H", data, central + 10, 99)

    patch_member(path, "samples/2_epoch_1.json", method)
    with pytest.raises(
        RunFormatError,
        match=r"cannot read samples/2_epoch_1\.json from the \.eval log: .*compression "
        r"method.*\(Inspect writes deflate",
    ):
        load_run(path)


def test_deeply_nested_member_is_a_format_error(real: Path, tmp_path: Path) -> None:
    items = members(real)
    items = [
        (n, b"[" * 200_000 + b"]" * 200_000 if n == "samples/1_epoch_1.json" else d)
        for n, d in items
    ]
    with pytest.raises(
        RunFormatError,
        match=r"samples/1_epoch_1\.json in the \.eval log: JSON nested too deeply",
    ):
        load_run(write(tmp_path / "deep.eval", items))


def test_member_over_member_bytes_is_refused_before_decompressing(
    real: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A zip bomb: 50 MB of spaces compress to about 50 KB.
    items = members(real)
    items = [
        (n, d + b" " * 50_000_000 if n == "samples/1_epoch_1.json" else d)
        for n, d in items
    ]
    path = write(tmp_path / "bomb.eval", items)
    assert path.stat().st_size < 200_000
    monkeypatch.setenv("RUNCOMPARE_MAX_MEMBER_BYTES", "10MB")
    with pytest.raises(
        RunFormatError,
        match=r"cannot read samples/1_epoch_1\.json from the \.eval log: more than "
        r"10,000,000 bytes decompressed from one archive member \(50,00\d,\d+ "
        r"declared\); raise the limit with RUNCOMPARE_MAX_MEMBER_BYTES",
    ):
        load_run(path)


def test_archive_over_archive_bytes_is_refused(
    real: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "many.eval", members(real))
    monkeypatch.setenv("RUNCOMPARE_MAX_ARCHIVE_BYTES", "20000")
    with pytest.raises(
        RunFormatError,
        match=r"more than 20,000 bytes decompressed from one archive",
    ):
        load_run(path)


def test_member_lying_about_its_size_is_cut_at_the_declared_size(
    real: Path, tmp_path: Path
) -> None:
    # A bomb that declares 100 bytes: decompression stops there and the CRC fails.
    items = members(real)
    items = [
        (n, d + b" " * 5_000_000 if n == "samples/1_epoch_1.json" else d)
        for n, d in items
    ]
    path = write(tmp_path / "liar.eval", items)

    def shrink(data: bytearray, local: int, central: int) -> None:
        struct.pack_into("<I", data, local + 22, 100)
        struct.pack_into("<I", data, central + 24, 100)

    patch_member(path, "samples/1_epoch_1.json", shrink)
    with pytest.raises(
        RunFormatError,
        match=r"cannot read samples/1_epoch_1\.json from the \.eval log: BadZipFile: "
        r"Bad CRC-32",
    ):
        load_run(path)


def test_second_header_is_refused(real: Path, tmp_path: Path) -> None:
    items = members(real)
    header = json.loads(dict(items)["header.json"])
    header["eval"]["model"] = "someone/else"
    path = write(
        tmp_path / "two.eval", [*items, ("header.json", json.dumps(header).encode())]
    )
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: the archive holds 2 members named header.json: which one "
            "describes the run is ambiguous"
        ),
    ):
        load_run(path)


def test_sample_in_two_members_is_refused(real: Path, tmp_path: Path) -> None:
    items = members(real)
    copy = dict(items)["samples/1_epoch_1.json"]
    path = write(tmp_path / "dup.eval", [*items, ("samples/one_again.json", copy)])
    with pytest.raises(
        RunFormatError,
        match=r"sample '1' epoch 1 is in two members, samples/1_epoch_1\.json and "
        r"samples/one_again\.json",
    ):
        load_run(path)


def test_damaged_member_name_is_read_from_its_content_with_a_warning(
    real: Path, tmp_path: Path
) -> None:
    items = [
        ("samples/2_epoc\x7f_1.json" if n == "samples/2_epoch_1.json" else n, d)
        for n, d in members(real)
    ]
    run = load_run(write(tmp_path / "renamed.eval", items))
    assert sorted(run.ids) == ["1#epoch1", "1#epoch2", "2#epoch1", "2#epoch2"]
    assert run.warnings == (
        f"{tmp_path / 'renamed.eval'}: archive member 'samples/2_epoc\\x7f_1.json' does "
        "not have the name Inspect gives sample '2' epoch 1 (samples/2_epoch_1.json): "
        "read from its content; the archive may be damaged",
    )


def test_listed_sample_without_a_member_is_an_error(real: Path, tmp_path: Path) -> None:
    items = [
        ("samples/2_epoch_1.jso\x00" if n == "samples/2_epoch_1.json" else n, d)
        for n, d in members(real)
    ]
    path = write(tmp_path / "lost.eval", items)
    with pytest.raises(
        RunFormatError,
        match=re.escape(
            f"{path}: 1 sample(s) listed in summaries.json have no sample member in "
            "the archive: 2 (epoch 1)"
        ),
    ):
        load_run(path)


def test_duplicate_key_in_a_member_is_refused(real: Path, tmp_path: Path) -> None:
    items = [
        (n, b'{"id": 1, "id": 2}' if n == "samples/1_epoch_1.json" else d)
        for n, d in members(real)
    ]
    with pytest.raises(
        RunFormatError,
        match=r"field 'id': samples/1_epoch_1\.json in the \.eval log: duplicate key",
    ):
        load_run(write(tmp_path / "dupkey.eval", items))
