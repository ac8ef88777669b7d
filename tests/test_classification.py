"""The classification vocabularies and the severity score (pure functions, no database)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.membership.taxonomy import TASKS
from accord.sharing import classification as c

REPO = Path(__file__).resolve().parent.parent
# The SHA-256 of the RSIT file as published (commit 901c69c of the task force's
# repository, see accord/sharing/data/README.md): the shipped copy must be unchanged.
RSIT_SHA256 = "bfaa07dd3d578ffa628170c49cdaa04b6fea8f27d8b80b2850569503fb0a53d6"


# --- RSIT ------------------------------------------------------------------


def test_rsit_file_is_the_published_one_byte_for_byte() -> None:
    shipped = c.RSIT_PATH.read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == RSIT_SHA256


EXPECTED_RSIT = {
    "abusive-content": ["spam", "harmful-speech", "violence"],
    "malicious-code": [
        "infected-system",
        "c2-server",
        "malware-distribution",
        "malware-configuration",
    ],
    "information-gathering": ["scanner", "sniffing", "social-engineering"],
    "intrusion-attempts": ["ids-alert", "brute-force", "exploit"],
    "intrusions": [
        "privileged-account-compromise",
        "unprivileged-account-compromise",
        "application-compromise",
        "system-compromise",
        "burglary",
    ],
    "availability": ["dos", "ddos", "misconfiguration", "sabotage", "outage"],
    "information-content-security": [
        "unauthorised-information-access",
        "unauthorised-information-modification",
        "data-loss",
        "data-leak",
    ],
    "fraud": ["unauthorised-use-of-resources", "copyright", "masquerade", "phishing"],
    "vulnerable": [
        "weak-crypto",
        "ddos-amplifier",
        "potentially-unwanted-accessible",
        "information-disclosure",
        "vulnerable-system",
    ],
    "other": ["other", "undetermined"],
    "test": ["test"],
}


def test_every_rsit_category_and_value_is_loaded_in_file_order() -> None:
    types = c.incident_types()
    expected = [f"{cat}:{value}" for cat, values in EXPECTED_RSIT.items() for value in values]
    assert [t.code for t in types] == expected
    assert len(types) == 39
    assert c.RSIT_VERSION == 1003
    assert all(t.label and t.description and t.category_label for t in types)


def test_incident_type_details_come_from_the_file() -> None:
    infected = c.get_incident_type("malicious-code:infected-system")
    assert infected.category == "malicious-code"
    assert infected.category_label == "Malicious Code"
    assert infected.label == "Infected System"
    raw = json.loads(c.RSIT_PATH.read_text(encoding="utf-8"))
    entry = next(
        e
        for group in raw["values"]
        if group["predicate"] == "malicious-code"
        for e in group["entry"]
        if e["value"] == "infected-system"
    )
    assert infected.description == entry["description"]


def test_incident_type_choices_are_grouped_by_category() -> None:
    groups = c.incident_type_choices()
    assert [label for label, _ in groups] == [
        "Abusive Content",
        "Malicious Code",
        "Information Gathering",
        "Intrusion Attempts",
        "Intrusions",
        "Availability",
        "Information Content Security",
        "Fraud",
        "Vulnerable",
        "Other",
        "Test",
    ]
    fraud = dict(groups)["Fraud"]
    assert ("fraud:phishing", "Phishing") in fraud
    assert sum(len(options) for _, options in groups) == 39


@pytest.mark.parametrize("code", ["malicious-code", "spam", "fraud:spam", "", None, 3])
def test_unknown_incident_type_is_a_value_error(code: object) -> None:
    with pytest.raises(ValueError, match="Unknown incident type"):
        c.get_incident_type(code)  # type: ignore[arg-type]


def test_rsit_attribution_names_source_and_licence() -> None:
    assert "enisaeu/Reference-Security-Incident-Taxonomy-Task-Force" in c.RSIT_ATTRIBUTION
    assert "901c69c124ae33c7827b07a396424d57a1a43645" in c.RSIT_ATTRIBUTION
    assert "CC0" in c.RSIT_ATTRIBUTION


# --- effects, core components, task areas ------------------------------------


def test_every_effect_has_a_family_and_help() -> None:
    assert set(c.EFFECT_FAMILY) == set(c.Effect.values) == set(c.EFFECT_HELP)
    families = {code: fam for code, fam in c.EFFECT_FAMILY.items()}
    assert [code for code, fam in families.items() if fam == "disruptive"] == [
        "message-manipulation",
        "external-dos",
        "internal-dos",
        "data-attack",
        "physical-attack",
    ]
    assert sum(fam == "exploitive" for fam in families.values()) == 5
    assert families["mixed"] == families["undetermined"] == "other"
    assert all(str(text).strip() for text in c.EFFECT_HELP.values())


def test_effects_are_deduplicated_and_put_in_taxonomy_order() -> None:
    assert c.validate_effects(["exploit-end-hosts", "data-attack", "exploit-end-hosts"]) == [
        "data-attack",
        "exploit-end-hosts",
    ]
    assert c.validate_effects(["mixed", "external-dos"]) == ["external-dos", "mixed"]


@pytest.mark.parametrize("empty", [[], (), None])
def test_no_effect_means_undetermined(empty: object) -> None:
    assert c.validate_effects(empty) == ["undetermined"]  # type: ignore[arg-type]


def test_undetermined_alone_is_accepted_but_not_combined() -> None:
    assert c.validate_effects(["undetermined", "undetermined"]) == ["undetermined"]
    with pytest.raises(ValueError, match="'undetermined' cannot be combined"):
        c.validate_effects(["undetermined", "data-attack"])


@pytest.mark.parametrize("bad", ["ddos", "Data-Attack", "", 7])
def test_unknown_effect_is_named(bad: object) -> None:
    with pytest.raises(ValueError, match=f"Unknown effect {bad!r}"):
        c.validate_effects(["data-attack", bad])  # type: ignore[list-item]


def test_a_bare_string_is_not_a_list_of_effects() -> None:
    with pytest.raises(ValueError, match="list of effect codes"):
        c.validate_effects("data-attack")


def test_core_components_and_task_areas() -> None:
    assert c.CoreComponent.values == [
        "routing-forwarding",
        "naming-numbering",
        "crypto-identity",
        "transmission-media",
    ]
    assert c.CoreComponent.CRYPTO.label == "Cryptographic mechanisms of security and identity"
    assert set(c.CORE_COMPONENT_HELP) == set(c.CoreComponent.values)
    assert [code for code, _ in c.task_area_choices()] == [code for code, _, _ in TASKS]


# --- the severity model ---------------------------------------------------


def test_factors_are_the_eight_of_the_model_and_each_has_unknown() -> None:
    assert c.FACTOR_CODES == (
        "functional-impact",
        "observed-activity",
        "location",
        "actor",
        "information-impact",
        "recoverability",
        "cross-sector-dependency",
        "potential-impact",
    )
    assert set(c.DEFAULT_WEIGHTS) == set(c.FACTOR_CODES)
    assert sum(c.DEFAULT_WEIGHTS.values()) == 100
    for factor in c.FACTORS:
        codes = [o.code for o in factor.options]
        assert "unknown" in codes
        assert len(codes) == len(set(codes)), factor.code
        assert all(0 <= o.value <= 100 for o in factor.options)
        assert factor.max_value == 100
        assert min(o.value for o in factor.options if o.code != "unknown") == 0
        assert str(factor.question).endswith("?")


def test_ncis_shaped_options_exist() -> None:
    def codes(factor: str) -> set[str]:
        return {o.code for o in c.get_factor(factor).options}

    assert {"prepare", "engage", "presence", "effect"} <= codes("observed-activity")
    assert {"regular", "supplemented", "extended", "not-recoverable"} <= codes("recoverability")
    assert {
        "business-network",
        "business-demilitarized-zone",
        "business-network-management",
        "critical-system-dmz",
        "critical-system-management",
        "critical-systems",
        "safety-systems",
    } <= codes("location")
    assert {
        "none",
        "suspected-but-not-identified",
        "privacy-data-breach",
        "proprietary-breach",
        "destruction-of-non-critical",
        "critical-systems-data-breach",
        "core-credential-compromise",
        "destruction-of-critical",
    } <= codes("information-impact")


def _worst() -> dict[str, str]:
    return {f.code: max(f.options, key=lambda o: o.value).code for f in c.FACTORS}


def _best() -> dict[str, str]:
    return {
        f.code: min((o for o in f.options if o.code != "unknown"), key=lambda o: o.value).code
        for f in c.FACTORS
    }


def test_all_worst_answers_score_100_emergency() -> None:
    result = c.score(_worst())
    assert result.score == 100
    assert result.level == 5
    assert result.level_code == "emergency"
    assert result.answered == 8


@pytest.mark.parametrize("answers", [{}, None, {f.code: "unknown" for f in c.FACTORS}])
def test_nothing_known_is_zero_baseline(answers: object) -> None:
    result = c.score(answers)  # type: ignore[arg-type]
    assert (result.score, result.level, result.answered) == (0, 0, 0)
    assert result.level_label == "Baseline"
    assert len(result.breakdown) == 8
    assert all(row.option is None and row.value is None for row in result.breakdown)
    assert all(row.contribution == 0 for row in result.breakdown)


def test_all_best_answers_are_zero_but_counted_as_answered() -> None:
    result = c.score(_best())
    assert (result.score, result.level, result.answered) == (0, 0, 8)


def test_one_bad_answer_alone_is_not_an_emergency() -> None:
    result = c.score({"functional-impact": "denial-of-critical"})
    # 20 (weight) x 100 (value) / 100 (all weights) = 20
    assert result.score == 20
    assert result.level == 1
    assert result.answered == 1


def test_default_weights_by_hand() -> None:
    answers = {
        "functional-impact": "significant",  # 60, weight 20 -> 1200
        "observed-activity": "presence",  # 75, weight 10 -> 750
        "location": "business-network",  # 25, weight 10 -> 250
        "actor": "criminal",  # 60, weight 10 -> 600
        "information-impact": "privacy-data-breach",  # 50, weight 15 -> 750
        "recoverability": "supplemented",  # 40, weight 15 -> 600
        # cross-sector-dependency unknown -> 0
        "potential-impact": "medium",  # 60, weight 10 -> 600
    }
    expected = (1200 + 750 + 250 + 600 + 750 + 600 + 600) / 100  # 47.5 -> 48 (half up)
    result = c.score(answers)
    assert expected == 47.5
    assert result.score == 48
    assert result.level == 2  # 40 <= 48 < 55
    assert result.answered == 7
    cross = next(r for r in result.breakdown if r.factor == "cross-sector-dependency")
    assert (cross.option, cross.value, cross.weight, cross.contribution) == (None, None, 10, 0.0)


def test_custom_weights_change_the_result_as_computed_by_hand() -> None:
    weights = {code: 0 for code in c.FACTOR_CODES}
    weights.update({"functional-impact": 3, "actor": 1, "potential-impact": 2})
    answers = {
        "functional-impact": "minimal",  # 30 x 3 = 90
        "actor": "nation-state",  # 100 x 1 = 100
        "potential-impact": "low",  # 30 x 2 = 60
        "location": "safety-systems",  # weight 0: no effect
    }
    # (90 + 100 + 60) / (3 + 1 + 2) = 250 / 6 = 41.67 -> 42
    result = c.score(answers, weights=weights)
    assert result.score == 42
    assert result.level == 2
    rows = {r.factor: r for r in result.breakdown}
    assert rows["actor"].contribution == pytest.approx(100 / 6)
    assert rows["location"].contribution == 0
    assert rows["location"].value == 100
    # the same answers with the default weights:
    # 30x20 + 100x10 + 30x10 + 100x10 = 600 + 1000 + 300 + 1000 = 2900 / 100 = 29
    assert c.score(answers).score == 29


def test_rounding_is_half_up() -> None:
    weights = {code: 0 for code in c.FACTOR_CODES}
    weights.update({"functional-impact": 1, "observed-activity": 1})
    # (0 + 45) / 2 = 22.5 -> 23 (rounding half to even would give 22)
    answers = {"functional-impact": "no-impact", "observed-activity": "engage"}
    assert c.score(answers, weights).score == 23
    # (10 + 45) / 2 = 27.5 -> 28
    answers = {"functional-impact": "no-impact-to-services", "observed-activity": "engage"}
    assert c.score(answers, weights).score == 28
    # (30 + 45) / 2 = 37.5 -> 38; (10 + 45 + 0) / 3 = 18.33 -> 18
    answers = {"functional-impact": "minimal", "observed-activity": "engage"}
    assert c.score(answers, weights).score == 38
    weights["actor"] = 1
    answers = {
        "functional-impact": "no-impact-to-services",
        "observed-activity": "engage",
        "actor": "no-adversary",
    }
    assert c.score(answers, weights).score == 18


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (0, 0),
        (19, 0),
        (20, 1),
        (39, 1),
        (40, 2),
        (54, 2),
        (55, 3),
        (69, 3),
        (70, 4),
        (84, 4),
        (85, 5),
        (100, 5),
    ],
)
def test_default_threshold_edges(value: int, level: int) -> None:
    assert c.level_for(value) == level


def test_score_exactly_at_a_threshold_takes_the_higher_level() -> None:
    # Only functional impact weighs: the score is that answer's value.
    weights = {code: 0 for code in c.FACTOR_CODES}
    weights["functional-impact"] = 5
    thresholds = [10, 30, 60, 75, 100]
    at = c.score({"functional-impact": "minimal"}, weights, thresholds)  # 30
    assert (at.score, at.level, at.level_code) == (30, 2, "medium")
    just_below = c.score({"functional-impact": "no-impact-to-services"}, weights, thresholds)
    assert (just_below.score, just_below.level) == (10, 1)
    top = c.score({"functional-impact": "denial-of-critical"}, weights, thresholds)
    assert (top.score, top.level) == (100, 5)
    assert c.score({"functional-impact": "denial-of-non-critical"}, weights, thresholds).level == 4
    assert at.thresholds == (10, 30, 60, 75, 100)


def test_as_dict_is_json_and_shows_weights_and_answers() -> None:
    result = c.score({"actor": "hacktivist", "recoverability": "extended"})
    data = json.loads(json.dumps(result.as_dict()))
    # 40 x 10 + 70 x 15 = 400 + 1050 = 1450 / 100 = 14.5 -> 15
    assert data["score"] == 15
    assert data["level"] == 0
    assert data["level_code"] == "baseline"
    assert (data["answered"], data["factors"]) == (2, 8)
    assert data["thresholds"] == c.DEFAULT_THRESHOLDS
    rows = {row["factor"]: row for row in data["breakdown"]}
    assert list(rows) == list(c.FACTOR_CODES)
    assert rows["actor"] == {
        "factor": "actor",
        "factor_label": "Actor",
        "option": "hacktivist",
        "option_label": "Hacktivist",
        "value": 40,
        "weight": 10,
        "contribution": 4.0,
    }
    assert rows["recoverability"]["contribution"] == 10.5
    assert rows["location"]["option"] is None and rows["location"]["value"] is None


# --- validation ------------------------------------------------------------


def test_validate_answers_drops_unknowns_and_keeps_factor_order() -> None:
    cleaned = c.validate_answers(
        {
            "potential-impact": "high",
            "actor": "unknown",
            "location": "",
            "recoverability": None,
            "functional-impact": "minimal",
        }
    )
    assert cleaned == {"functional-impact": "minimal", "potential-impact": "high"}
    assert list(cleaned) == ["functional-impact", "potential-impact"]


def test_unknown_factor_is_named() -> None:
    with pytest.raises(ValueError, match="Unknown severity factor 'impact'"):
        c.validate_answers({"impact": "high"})
    with pytest.raises(ValueError, match="Unknown severity factor 'impact'"):
        c.score({"impact": "high"})


def test_unknown_option_names_factor_and_option() -> None:
    with pytest.raises(
        ValueError,
        match="'catastrophic' is not an answer to the severity factor 'potential-impact'",
    ):
        c.score({"potential-impact": "catastrophic"})
    # an option of another factor is not an option of this one
    with pytest.raises(
        ValueError, match="'presence' is not an answer to the severity factor 'actor'"
    ):
        c.validate_answers({"actor": "presence"})


@pytest.mark.parametrize("bad", [["actor"], "actor=criminal", 5])
def test_answers_must_be_a_mapping(bad: object) -> None:
    with pytest.raises(ValueError, match="must be an object"):
        c.validate_answers(bad)  # type: ignore[arg-type]


def test_non_string_answer_is_refused() -> None:
    with pytest.raises(ValueError, match="'actor' must be a code"):
        c.validate_answers({"actor": 3})


def test_validate_weights() -> None:
    assert c.validate_weights(c.DEFAULT_WEIGHTS) == c.DEFAULT_WEIGHTS
    missing = dict(c.DEFAULT_WEIGHTS)
    del missing["location"]
    with pytest.raises(ValueError, match="'location' is missing"):
        c.validate_weights(missing)
    for bad in (-1, 1001, 2.5, "10", True, None):
        weights = dict(c.DEFAULT_WEIGHTS, actor=bad)
        with pytest.raises(ValueError, match="'actor'"):
            c.validate_weights(weights)
    with pytest.raises(ValueError, match="Unknown severity factor 'colour'"):
        c.validate_weights(dict(c.DEFAULT_WEIGHTS, colour=5))
    with pytest.raises(ValueError, match="above 0"):
        c.validate_weights({code: 0 for code in c.FACTOR_CODES})
    edge = {code: 0 for code in c.FACTOR_CODES}
    edge["actor"] = 1000
    assert c.validate_weights(edge)["actor"] == 1000
    with pytest.raises(ValueError, match="'actor'"):
        c.score({}, weights=dict(c.DEFAULT_WEIGHTS, actor=-5))


def test_validate_thresholds() -> None:
    assert c.validate_thresholds([1, 2, 3, 4, 100]) == [1, 2, 3, 4, 100]
    assert c.validate_thresholds((20, 40, 55, 70, 85)) == [20, 40, 55, 70, 85]
    cases = {
        "exactly 5": [[20, 40, 55, 70], [20, 40, 55, 70, 85, 90], []],
        "level 2": [[20, 20, 55, 70, 85], [20, 10, 55, 70, 85]],
        "between 1 and 100": [[0, 40, 55, 70, 85], [20, 40, 55, 70, 101]],
        "whole number": [[20, 40.5, 55, 70, 85], [20, "40", 55, 70, 85], [True, 40, 55, 70, 85]],
        "list of five": ["20,40,55,70,85", 5, None, {"a": 1}],
    }
    for message, bad_lists in cases.items():
        for bad in bad_lists:
            with pytest.raises(ValueError, match=message):
                c.validate_thresholds(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="level 2"):
        c.score({}, thresholds=[20, 20, 55, 70, 85])


# --- properties --------------------------------------------------------------

_weights = st.fixed_dictionaries(
    {code: st.integers(min_value=0, max_value=1000) for code in c.FACTOR_CODES}
).filter(lambda w: any(w.values()))
_answers = st.fixed_dictionaries(
    {f.code: st.sampled_from([o.code for o in f.options]) for f in c.FACTORS}
)


@given(answers=_answers, weights=_weights, data=st.data())
def test_raising_one_answer_never_lowers_the_score(answers, weights, data) -> None:
    factor = data.draw(st.sampled_from(c.FACTORS))
    current = factor.option(answers[factor.code])
    # unknown counts as 0, so any known answer is "at least as bad" as unknown
    floor = 0 if current.code == "unknown" else current.value
    higher = data.draw(
        st.sampled_from([o for o in factor.options if o.code != "unknown" and o.value >= floor])
    )
    before = c.score(answers, weights)
    after = c.score(dict(answers, **{factor.code: higher.code}), weights)
    assert after.score >= before.score
    assert after.level >= before.level


@given(answers=_answers, weights=_weights)
def test_contributions_add_up_to_the_score(answers, weights) -> None:
    result = c.score(answers, weights)
    total = sum(row.contribution for row in result.breakdown)
    assert abs(total - result.score) <= 0.5 + 1e-9
    assert 0 <= result.score <= 100
    assert result.answered == sum(1 for v in answers.values() if v != "unknown")
    assert result.level == sum(1 for t in c.DEFAULT_THRESHOLDS if t <= result.score)
