"""File checks: missing files with a diagnosis, escapes from the images root, unreadable and empty files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labelprep.checks import files
from labelprep.checks.base import Issue
from labelprep.checks.files import check_files


def touch(root: Path, rel: str, data: bytes = b"x") -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return rel


def codes(found: dict[str, list[Issue]]) -> dict[str, list[str]]:
    return {p: [i.code for i in issues] for p, issues in found.items()}


def only(found: dict[str, list[Issue]], path: str) -> Issue:
    assert len(found[path]) == 1, found[path]
    return found[path][0]


# -- present and missing ------------------------------------------------------------


def test_files_that_exist_have_no_findings(tmp_path: Path) -> None:
    paths = [touch(tmp_path, p) for p in ("a.jpg", "cat/b.jpg", "cat/sub/c.png", "with space/d e.jpg")]
    assert check_files(paths, tmp_path) == {}


def test_only_paths_with_problems_in_listed_order(tmp_path: Path) -> None:
    touch(tmp_path, "ok.jpg")
    found = check_files(["z.jpg", "ok.jpg", "a.jpg", "z.jpg"], tmp_path)
    assert list(found) == ["z.jpg", "a.jpg"]
    assert codes(found) == {"z.jpg": ["missing-file"], "a.jpg": ["missing-file"]}


def test_missing_file_without_a_diagnosis(tmp_path: Path) -> None:
    touch(tmp_path, "cat/other.jpg")
    issue = only(check_files(["cat/lost.jpg"], tmp_path), "cat/lost.jpg")
    assert issue.code == "missing-file"
    assert issue.message == "file does not exist"
    assert "--images-root" in issue.hint and f"the images root is {tmp_path.resolve()}" in issue.hint


def test_missing_folder_is_named(tmp_path: Path) -> None:
    issue = only(check_files(["images_001/images/x.png"], tmp_path), "images_001/images/x.png")
    assert issue.code == "missing-file"
    assert "no folder 'images_001/images'" in issue.message


def test_name_that_differs_only_by_case(tmp_path: Path) -> None:
    touch(tmp_path, "Cat/Img.JPG")
    issue = only(check_files(["cat/img.jpg"], tmp_path), "cat/img.jpg")
    assert issue.code == "missing-file"
    assert issue.hint.startswith("found as 'Cat/Img.JPG'")


def test_name_listed_without_its_extension(tmp_path: Path) -> None:
    touch(tmp_path, "train-jpg/train_0.jpg")
    issue = only(check_files(["train-jpg/train_0"], tmp_path), "train-jpg/train_0")
    assert issue.code == "missing-file"
    assert issue.hint.startswith("found 'train-jpg/train_0.jpg'")
    assert "--path-template '{}.jpg'" in issue.hint


def test_name_listed_with_another_extension(tmp_path: Path) -> None:
    touch(tmp_path, "x.png")
    issue = only(check_files(["x.jpg"], tmp_path), "x.jpg")
    assert issue.hint.startswith("found 'x.png' with another extension")


def test_bare_name_found_in_another_folder(tmp_path: Path) -> None:
    # ChestX-ray14 lists bare names while the files sit in images_0NN/images/.
    touch(tmp_path, "images_001/images/00000001_000.png")
    touch(tmp_path, "images_002/images/00000002_000.png")
    found = check_files(["00000002_000.png", "images_001/images/00000001_000.png"], tmp_path)
    issue = only(found, "00000002_000.png")
    assert issue.code == "missing-file"
    assert issue.hint.startswith("found at 'images_002/images/00000002_000.png'")
    assert "--find-images" in issue.hint
    assert list(found) == ["00000002_000.png"]


def test_paths_one_folder_off_the_images_root_say_which_root_to_pass(tmp_path: Path) -> None:
    # CheXpert: train.csv sits in CheXpert-v1.0-small/ and lists CheXpert-v1.0-small/train/patient.../view1_frontal.jpg
    root = tmp_path / "CheXpert-v1.0-small"
    for patient in ("patient00001", "patient00002"):
        touch(root, f"train/{patient}/study1/view1_frontal.jpg")
    listed = "CheXpert-v1.0-small/train/patient00002/study1/view1_frontal.jpg"
    issue = only(check_files([listed], root), listed)
    assert issue.hint == ("found at 'train/patient00002/study1/view1_frontal.jpg': the paths start with "
                          f"'CheXpert-v1.0-small/', which the images root already is; pass --images-root {tmp_path}")  # fmt: skip
    # and the other way: the images sit a folder further down than the root
    touch(tmp_path / "deep", "imgs/cats/a.jpg")
    issue = only(check_files(["cats/a.jpg"], tmp_path / "deep"), "cats/a.jpg")
    assert issue.hint.endswith(f"pass --images-root {tmp_path / 'deep' / 'imgs'}")


def test_same_name_in_several_folders_counts_the_others(tmp_path: Path) -> None:
    for folder in ("a", "b", "c"):
        touch(tmp_path, f"{folder}/x.jpg")
    issue = only(check_files(["x.jpg"], tmp_path), "x.jpg")
    assert issue.hint.startswith("found at 'a/x.jpg' and 2 other place(s)")


def test_stem_found_elsewhere_for_a_name_without_extension(tmp_path: Path) -> None:
    touch(tmp_path, "train-jpg/train_7.jpg")
    issue = only(check_files(["train_7"], tmp_path), "train_7")
    assert issue.hint.startswith("found at 'train-jpg/train_7.jpg'")


def test_empty_path(tmp_path: Path) -> None:
    assert codes(check_files([""], tmp_path)) == {"": ["missing-file"]}


# -- escapes from the root --------------------------------------------------------------


def test_dotdot_leaving_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    touch(tmp_path, "secret.jpg")
    touch(root, "a/in.jpg")
    found = check_files(["../secret.jpg", "a/../../secret.jpg", "a/../a/in.jpg", "./a/in.jpg"], root)
    assert codes(found) == {"../secret.jpg": ["path-escapes-root"], "a/../../secret.jpg": ["path-escapes-root"]}
    assert "'..'" in found["../secret.jpg"][0].message


def test_absolute_paths(tmp_path: Path) -> None:
    root = tmp_path / "root"
    touch(root, "in.jpg")
    outside = touch(tmp_path, "out.jpg")
    found = check_files([str(root / "in.jpg"), str(tmp_path / outside), str(root / "gone.jpg")], root)
    assert codes(found) == {str(tmp_path / outside): ["path-escapes-root"], str(root / "gone.jpg"): ["missing-file"]}


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    touch(root, "real/in.jpg")
    touch(tmp_path, "elsewhere/out.jpg")
    os.symlink(tmp_path / "elsewhere/out.jpg", root / "link-out.jpg")
    os.symlink(root / "real/in.jpg", root / "link-in.jpg")
    os.symlink(tmp_path / "elsewhere", root / "linked-folder")
    os.symlink(root / "real/nothing.jpg", root / "dangling.jpg")
    listed = ["link-out.jpg", "link-in.jpg", "linked-folder/out.jpg", "dangling.jpg"]
    found = check_files(listed, root)
    assert codes(found) == {
        "link-out.jpg": ["path-escapes-root"],
        "linked-folder/out.jpg": ["path-escapes-root"],
        "dangling.jpg": ["missing-file"],
    }
    assert "symlink" in found["link-out.jpg"][0].message and "not followed" in found["link-out.jpg"][0].message
    assert "symlink" in found["dangling.jpg"][0].message


# -- unreadable and empty ----------------------------------------------------------------


def test_directory_named_like_an_image(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").mkdir()
    issue = only(check_files(["photo.jpg"], tmp_path), "photo.jpg")
    assert issue.code == "unreadable-file"
    assert "folder" in issue.message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_named_pipe(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jpg")
    issue = only(check_files(["pipe.jpg"], tmp_path), "pipe.jpg")
    assert issue.code == "unreadable-file"
    assert "pipe" in issue.message


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_no_read_permission(tmp_path: Path) -> None:
    touch(tmp_path, "locked.jpg")
    os.chmod(tmp_path / "locked.jpg", 0)
    try:
        issue = only(check_files(["locked.jpg"], tmp_path), "locked.jpg")
    finally:
        os.chmod(tmp_path / "locked.jpg", 0o644)
    assert issue.code == "unreadable-file"
    assert "permission" in issue.message


def test_zero_byte_file(tmp_path: Path) -> None:
    touch(tmp_path, "empty.jpg", b"")
    issue = only(check_files(["empty.jpg"], tmp_path), "empty.jpg")
    assert issue.code == "empty-file"
    assert "0 bytes" in issue.message


# -- the same answers on every path through the code --------------------------------------------


def dataset(root: Path) -> list[str]:
    listed = []
    for d in range(6):
        for i in range(50):
            listed.append(touch(root, f"f{d}/img_{i:03d}.jpg", b"" if i == 7 else b"x"))
    (root / "f1/img_010.jpg").unlink()
    (root / "f2/img_011.jpg").rename(root / "f2/IMG_011.JPG")
    listed += ["f4/img_999.jpg", "nowhere/img_000.jpg", "../x.jpg", "./f5/img_001.jpg", "f5//img_002.jpg"]
    return listed


def test_threads_and_chunks_give_the_same_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listed = dataset(tmp_path)
    inline = check_files(listed, tmp_path)
    monkeypatch.setattr(files, "_PARALLEL_ABOVE", 1)
    monkeypatch.setattr(files, "_CHUNK", 7)
    threaded = check_files(listed, tmp_path)
    assert threaded == inline
    assert codes(inline) == {
        **{f"f{d}/img_007.jpg": ["empty-file"] for d in range(6)},
        "f1/img_010.jpg": ["missing-file"],
        "f2/img_011.jpg": ["missing-file"],
        "f4/img_999.jpg": ["missing-file"],
        "nowhere/img_000.jpg": ["missing-file"],
        "../x.jpg": ["path-escapes-root"],
    }
    assert inline["f2/img_011.jpg"][0].hint.startswith("found as 'f2/IMG_011.JPG'")
    assert inline["nowhere/img_000.jpg"][0].hint.startswith("found at 'f0/img_000.jpg' and 5 other place(s)")


def test_two_spellings_of_one_missing_path_are_both_reported(tmp_path: Path) -> None:
    found = check_files(["a/b.jpg", "./a/b.jpg", "a//b.jpg"], tmp_path)
    assert codes(found) == {p: ["missing-file"] for p in ("a/b.jpg", "./a/b.jpg", "a//b.jpg")}


def test_never_reads_file_contents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path, "a.jpg")
    opened: list[object] = []
    real_open = os.open

    def spy(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if not flags & getattr(os, "O_DIRECTORY", 0):
            opened.append(path)
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", spy)
    assert check_files(["a.jpg", "gone.jpg"], tmp_path) == {"gone.jpg": check_files(["gone.jpg"], tmp_path)["gone.jpg"]}
    assert opened == []


def test_no_read_permission_as_seen_by_another_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests often run as root, which reads anything: act as an ordinary user whose os.access says no.
    touch(tmp_path, "locked.jpg")
    os.chmod(tmp_path / "locked.jpg", 0o200)
    monkeypatch.setattr(os, "geteuid", lambda: 12345, raising=False)
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    issue = only(check_files(["locked.jpg"], tmp_path), "locked.jpg")
    assert issue.code == "unreadable-file"
    assert issue.message.startswith("no permission to read it (mode --w-------")


def test_without_stat_missing_files_folders_and_escaping_symlinks_are_still_found(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "ok.jpg").write_bytes(b"x")
    (root / "a" / "empty.jpg").write_bytes(b"")
    (root / "a" / "dir.jpg").mkdir()
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"x")
    (root / "a" / "link.jpg").symlink_to(outside)
    paths = ["a/ok.jpg", "a/empty.jpg", "a/dir.jpg", "a/link.jpg", "a/gone.jpg"]
    quick = {p: [i.code for i in issues] for p, issues in check_files(paths, root, stat_files=False).items()}
    full = {p: [i.code for i in issues] for p, issues in check_files(paths, root).items()}
    assert quick == {"a/dir.jpg": ["unreadable-file"], "a/link.jpg": ["path-escapes-root"],
                     "a/gone.jpg": ["missing-file"]}  # fmt: skip
    assert full == {**quick, "a/empty.jpg": ["empty-file"]}


def test_many_paths_grouped_in_bulk_give_the_answer_of_few(tmp_path: Path) -> None:
    """Above 2,048 paths the grouping by folder is vectorised; odd spellings still go the careful way."""
    root = tmp_path / "root"
    for d in range(6):
        (root / f"d{d}").mkdir(parents=True)
        for i in range(500):
            (root / f"d{d}" / f"{i}.jpg").write_bytes(b"x")
    (root / "top.jpg").write_bytes(b"x")
    paths = [f"d{d}/{i}.jpg" for d in range(6) for i in range(500)] + ["top.jpg"]
    odd = ["./d0/1.jpg", "d1//2.jpg", "../outside.jpg", "/etc/passwd", "d2/3.jpg ", "", "d3/./4.jpg", "d9/none.jpg",
           "d4/missing.jpg", "D5/6.jpg", "d5/7"]  # fmt: skip
    listed = odd[:4] + paths + odd[4:]
    bulk = check_files(listed, root)
    assert len(listed) > 2048
    one_by_one: dict[str, list[Issue]] = {}
    for p in listed:  # under 2,048 paths: the plain Python grouping
        one_by_one.update(check_files([p], root))
    assert list(bulk) == [p for p in listed if p in one_by_one]
    assert {p: [i.code for i in v] for p, v in bulk.items()} == {p: [i.code for i in v] for p, v in one_by_one.items()}
    assert {"../outside.jpg", "/etc/passwd", "d9/none.jpg", "d4/missing.jpg", "D5/6.jpg", "d5/7"} <= set(bulk)
    assert "'d5/6.jpg'" in bulk["D5/6.jpg"][0].hint and "d5/7.jpg" in bulk["d5/7"][0].hint


def test_only_the_first_missing_files_are_diagnosed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "DIAGNOSE_AT_MOST", 2)
    (tmp_path / "a").mkdir()
    for i in range(5):
        (tmp_path / "a" / f"{i}.png").write_bytes(b"x")
    found = check_files([f"a/{i}.jpg" for i in range(5)], tmp_path)
    assert len(found) == 5 and all(v[0].code == "missing-file" for v in found.values())
    diagnosed = [p for p, v in found.items() if "another extension" in v[0].hint]
    assert len(diagnosed) == 2
    rest = [v[0].hint for p, v in found.items() if p not in diagnosed]
    assert rest == ["5 files are missing: the first 2 have a diagnosis in their hints (case, extension, another "
                    "folder); check --images-root and the paths"] * 3  # fmt: skip
