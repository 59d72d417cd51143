"""Loading scenario files: overrides, extends, and one clear error for each bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import ScenarioError, load_scenario
from scenarios.loader import deep_merge, erased_differences, parse_set


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_misspelled_key_names_file_key_and_suggestion(tmp_path):
    path = write(tmp_path, "s.toml", "[choice]\nintertia = 2.0\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert str(path) in message
    assert "unknown key `choice.intertia`" in message
    assert "Did you mean `choice.inertia`?" in message


def test_negative_population_is_rejected(tmp_path):
    path = write(tmp_path, "s.toml", "[community]\nrelocated_population = -5\n")
    with pytest.raises(
        ScenarioError, match=r"community.relocated_population`: Input should be greater than 0 \(got -5\)"
    ):
        load_scenario(path)


def test_share_above_one_is_rejected(tmp_path):
    path = write(tmp_path, "s.toml", "[community]\njunior_middle_or_below_share = 1.3\n")
    with pytest.raises(ScenarioError, match=r"junior_middle_or_below_share`: Input should be less than or equal to 1"):
        load_scenario(path)


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.toml")


def test_malformed_toml_names_the_line(tmp_path):
    path = write(tmp_path, "s.toml", "name = 'x'\n[wages]\nlocal_industry = = 3\n")
    with pytest.raises(ScenarioError, match=r"not valid TOML: .*line 3"):
        load_scenario(path)


def test_set_overrides_are_typed_and_validated():
    s = load_scenario(
        None,
        parse_set(
            [
                "wages.out_of_county=5200",
                "community.id=demo",
                "policies.public_welfare_jobs.priority_zero_employment=false",
            ]
        ),
    )
    assert s.wages.out_of_county == 5200.0
    assert s.community.id == "demo"
    assert s.policies.public_welfare_jobs.priority_zero_employment is False
    with pytest.raises(ScenarioError, match=r"--set wages.out_of_countyy=1: unknown key `wages.out_of_countyy`"):
        load_scenario(None, {"wages.out_of_countyy": 1})
    with pytest.raises(ScenarioError, match="expected KEY=VALUE"):
        parse_set(["wages.out_of_county"])


def test_parse_set_types_values_once_and_keeps_bare_strings():
    assert parse_set(["community.name=Qingquan community", "a.b=[1, 2]", "c=0.5", "d=true"]) == {
        "community.name": "Qingquan community",
        "a.b": [1, 2],
        "c": 0.5,
        "d": True,
    }
    assert parse_set(["a=1", "a=2"]) == {"a": 2}


def test_deep_merge_merges_tables_and_replaces_values():
    base = {"a": {"x": 1, "y": 2}, "b": 1}
    assert deep_merge(base, {"a": {"y": 3}, "c": 4}) == {"a": {"x": 1, "y": 3}, "b": 1, "c": 4}
    assert base == {"a": {"x": 1, "y": 2}, "b": 1}


def test_extends_chain_and_cycle(tmp_path):
    write(tmp_path, "a.toml", 'name = "a"\n[wages]\nlocal_industry = 2500\nlocal_services = 2000\n')
    write(tmp_path, "b.toml", 'extends = "a.toml"\nname = "b"\n[wages]\nlocal_services = 2100\n')
    c = write(tmp_path, "c.toml", 'extends = "b.toml"\nname = "c"\n')
    s = load_scenario(c)
    assert (s.name, s.wages.local_industry, s.wages.local_services) == ("c", 2500.0, 2100.0)
    write(tmp_path, "x.toml", 'extends = "y.toml"\n')
    y = write(tmp_path, "y.toml", 'extends = "x.toml"\n')
    with pytest.raises(ScenarioError, match=r"`extends` forms a cycle: y.toml -> x.toml -> y.toml"):
        load_scenario(y)
    bad = write(tmp_path, "bad.toml", 'extends = "missing.toml"\n')
    with pytest.raises(ScenarioError, match=r"key `extends` names 'missing\.toml'"):
        load_scenario(bad)


def test_a_common_override_that_erases_a_difference_is_named():
    root = Path(__file__).resolve().parents[1] / "scenarios"
    files = [root / "baseline.toml", root / "policies" / "public_welfare_jobs.toml"]
    (message,) = erased_differences(files, {"policies.public_welfare_jobs.posts_per_100_households": 4.0})
    assert "--set policies.public_welfare_jobs.posts_per_100_households would erase a difference" in message
    assert "baseline.toml 4.0, public_welfare_jobs.toml 16.0" in message
    assert erased_differences(files, {"policies.public_welfare_jobs": {"enabled": True}}) != []  # a whole table
    assert erased_differences(files, {"wages.out_of_county": 5000, "simulation.years": 1}) == []
    calibrated = [root / "calibrated" / "kaili_qingquan.toml", root / "calibrated" / "fengning_rencai.toml"]
    assert "--community typical" not in " ".join(erased_differences(files, {}, community="kaili_qingquan"))
    assert "--community kaili_qingquan would erase" in erased_differences(calibrated, {}, community="kaili_qingquan")[0]


def test_utf8_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + '[community]\nid = "社区"\n'.encode())
    assert load_scenario(path).community.id == "社区"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('[community]\nid = "易地搬迁"\n'.encode("gbk"), "looks saved as GBK/GB18030"),
        ('[community]\nid = "x"\n'.encode("utf-16"), "UTF-16"),
        (bytes(range(256)) * 4, "binary file, not a TOML scenario"),
        (b"\x81\x30\xff\xfe\x80" * 10, "not text in UTF-8"),  # neither UTF-8 nor GB18030, no NUL byte
    ],
)
def test_files_in_other_encodings_or_binary_are_one_clear_error(tmp_path, raw, expected):
    path = tmp_path / "s.toml"
    path.write_bytes(raw)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert expected in str(err.value) and str(path) in str(err.value)
