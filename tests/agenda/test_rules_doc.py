"""docs/agenda-rules.md is the table a practitioner checks; these tests keep it
the code's: the rules in the order of rules.PRECEDENCE, each with the gates
of what it proposes; the gates with their kind; which gate applies to which
ask (gates.GATES_FOR), and why not where one does not (gates.NOT_APPLIED)."""

import re
from pathlib import Path

import pytest

from rapport.agenda import gates, rules
from rapport.agenda.models import Action

DOC = Path(__file__).resolve().parents[2] / "docs" / "agenda-rules.md"

# How the rules table names each gate.
GATE_WORDS = {
    "open issue": "open_issue",
    "complaint": "complaint",
    "permission date": "permission_date",
    "stage": "stage",
    "readiness": "readiness",
    "decline": "decline_hold",
    "cooldown": "cooldown",
    "names just given": "names_just_given",
    "one ask a day": "one_ask_a_day",
}
SEVERITY = {"BLOCK": gates.BLOCK, "EARN": gates.EARN, "WAIT": gates.WAIT}


def sections(text: str) -> dict[str, str]:
    """The document's `## ` sections by heading."""
    found, heading = {}, ""
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
            found[heading] = ""
        elif heading:
            found[heading] += line + "\n"
    return found


def table(section: str) -> list[dict[str, str]]:
    """The first markdown table of a section, as rows keyed by its header."""
    lines = [line.strip() for line in section.splitlines() if line.strip().startswith("|")]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    header, rows = cells[0], cells[2:]
    assert set("".join(cells[1])) <= set("-: "), "the second line of a table is its rule"
    return [dict(zip(header, row, strict=True)) for row in rows]


def code(cell: str) -> list[str]:
    """The `names` in a cell."""
    return re.findall(r"`([^`]+)`", cell)


def plain(cell: str) -> str:
    return cell.replace("`", "").strip()


def words(reason: str) -> str:
    """A reason with its punctuation dropped: the doc may say "a — b" where
    the code says "a: b"."""
    return " ".join(re.sub(r"[^\w\s]", " ", reason.lower()).split())


def practice_step(text: str) -> str:
    """ "2. An open problem…" → "2."; "Respect: one ask a day" → "Respect"."""
    return re.match(r"\s*(\d+\.|\w+)", text).group(1)


@pytest.fixture(scope="module")
def doc() -> dict[str, str]:
    return sections(DOC.read_text(encoding="utf-8"))


def test_the_rules_table_lists_every_rule_in_precedence_order(doc):
    rows = table(doc["Rules, in precedence order"])
    assert [plain(row["#"]) for row in rows] == [str(n) for n in range(1, len(rows) + 1)]
    assert [plain(row["rule"]) for row in rows] == list(rules.PRECEDENCE)
    # ... and every rule of the list is registered (ordered() raises if not).
    assert [rule.name for rule in rules.ordered()] == list(rules.PRECEDENCE)


def test_each_rule_cites_the_practice_step_its_code_cites(doc):
    registered = {rule.name: rule for rule in rules.ordered()}
    for row in table(doc["Rules, in precedence order"]):
        rule = registered[plain(row["rule"])]
        assert practice_step(row["the practice"]) == practice_step(rule.practice), rule.name


def test_each_rule_s_gates_are_the_gates_of_what_it_proposes(doc):
    for row in table(doc["Rules, in precedence order"]):
        proposed = [name for name in code(row["proposes"]) if name in Action.values]
        assert proposed, f"{row['rule']} names no action it proposes"
        listed = row["gates"]
        if listed.startswith("none"):
            named = []
        else:
            named = [GATE_WORDS[part.strip()] for part in listed.split(",")]
        for action in proposed:
            assert list(gates.GATES_FOR.get(action, ())) == named, (row["rule"], action)


def test_the_gates_table_lists_every_gate_with_its_kind(doc):
    rows = table(doc["The gates"])
    named = [plain(row["gate"]) for row in rows]
    applied = {name for names in gates.GATES_FOR.values() for name in names}
    assert set(named) == applied | set(gates.FEEDBACK_GATES)
    assert len(named) == len(set(named))
    for row in rows:
        gate = gates.get(plain(row["gate"]))
        assert SEVERITY[plain(row["kind"])] == gate.severity, gate.name
        assert practice_step(row["the practice"]) == practice_step(gate.practice), gate.name


def test_the_gates_per_ask_table_is_gates_for_and_not_applied(doc):
    rows = table(doc["Which gate applies to which ask"])
    columns = [name for name in rows[0] if name != "gate"]
    assert [plain(column) for column in columns] == list(gates.ASK_LIKE)
    assert [plain(row["gate"]) for row in rows] == [
        plain(row["gate"]) for row in table(doc["The gates"])
    ]
    for row in rows:
        gate = plain(row["gate"])
        for column in columns:
            action, cell = plain(column), row[column]
            applied = gate in gates.GATES_FOR[action]
            reason = gates.NOT_APPLIED.get((action, gate))
            where = f"{gate} × {action}"
            if cell.startswith("yes"):
                assert applied and reason is None, where
            else:
                assert cell.startswith("no"), where
                assert not applied and reason, where
                said = cell.removeprefix("no").lstrip(":").strip()
                if said:  # a bare "no" repeats the reason given to its left
                    assert words(said) == words(reason), where


def test_every_ask_and_gate_is_applied_or_has_a_reason(doc):
    every_gate = [plain(row["gate"]) for row in table(doc["The gates"])]
    for action in gates.ASK_LIKE:
        for gate in every_gate:
            applied = gate in gates.GATES_FOR[action]
            excused = (action, gate) in gates.NOT_APPLIED
            assert applied != excused, f"{gate} × {action}: applied and excused, or neither"
    for action, gate in gates.NOT_APPLIED:
        assert action in gates.ASK_LIKE and gate in every_gate


def test_what_win_back_calls_earn_first_and_questionnaires_pass_is_what_the_doc_says(doc):
    text = doc["Which gate applies to which ask"]
    paragraph = " ".join(
        next(p for p in text.split("\n\n") if p.startswith("Win-back calls")).split()
    )
    calls, questionnaires = paragraph.split("Questionnaires")
    block = [plain(row["gate"]) for row in table(doc["The gates"]) if plain(row["kind"]) == "BLOCK"]
    # "Win-back calls (`reactivate`) and `earn_first` pass the two BLOCK gates"
    assert (
        code(calls)[:2] == [Action.REACTIVATE, Action.EARN_FIRST] and "the two BLOCK gates" in calls
    )
    assert list(gates.GATES_FOR[Action.REACTIVATE]) == block
    assert list(gates.GATES_FOR[Action.EARN_FIRST]) == block
    # "Questionnaires … pass the BLOCK gates, `decline_hold`, … not `stage` or `readiness`"
    passed, not_passed = questionnaires.split(", not ")
    assert "the BLOCK gates" in passed
    assert list(gates.FEEDBACK_GATES) == block + code(passed)
    assert not set(code(not_passed)) & set(gates.FEEDBACK_GATES)
