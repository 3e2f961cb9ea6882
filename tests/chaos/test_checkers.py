"""The chaos suite's checkers on made-up histories: each anomaly is caught, a clean history
passes. No cluster needed: `<repo>/.venv/bin/python -m pytest tests/chaos`."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from chaos import Fault, Read, Record, longest_ack_gap, run_checks, unavailability  # noqa: E402


def acked(n, partition, offset, producer=0, seq=None, at=1.0):
    return Record(value=f"w-{n}", producer=producer, seq=n if seq is None else seq, partition=partition,
                  sent_at=at - 0.1, done_at=at, offset=offset, acked_partition=partition)


def failed(n, partition, producer=0):
    return Record(value=f"w-{n}", producer=producer, seq=n, partition=partition, sent_at=0.5, done_at=1.0,
                  error="_MSG_TIMED_OUT")


def anomalies(history, reads):
    return {c.name: c.anomalies for c in run_checks(history, reads) if c.anomalies}


def test_clean_history_passes_and_failed_sends_may_be_present():
    history = [acked(1, 0, 0), acked(2, 1, 0), acked(3, 0, 1), failed(4, 1)]
    reads = [Read(0, 0, "w-1"), Read(0, 1, "w-3"), Read(1, 0, "w-2"), Read(1, 1, "w-4")]
    assert anomalies(history, reads) == {}


def test_lost_acked_value():
    history = [acked(1, 0, 0), acked(2, 0, 1)]
    assert anomalies(history, [Read(0, 0, "w-1")]) == {"lost": 1}


def test_duplicated_value():
    history = [acked(1, 0, 0)]
    reads = [Read(0, 0, "w-1"), Read(0, 1, "w-1")]
    assert anomalies(history, reads) == {"duplicated": 1}


def test_value_read_at_other_offset_than_acked():
    history = [acked(1, 0, 5)]
    assert anomalies(history, [Read(0, 0, "w-1")]) == {"inconsistent": 1}


def test_one_offset_with_two_values():
    history = [acked(1, 0, 0), failed(2, 0)]
    reads = [Read(0, 0, "w-1"), Read(0, 0, "w-2")]
    result = anomalies(history, reads)
    assert result["inconsistent"] == 1 and result["non-monotonic"] == 1


def test_offsets_going_backwards():
    history = [acked(1, 0, 0), acked(2, 0, 1)]
    reads = [Read(0, 1, "w-2"), Read(0, 0, "w-1")]
    assert anomalies(history, reads) == {"non-monotonic": 1}


def test_unexpected_value():
    history = [acked(1, 0, 0)]
    reads = [Read(0, 0, "w-1"), Read(0, 1, "garbage")]
    assert anomalies(history, reads) == {"unexpected": 1}


def test_reordered_within_one_producer():
    history = [acked(1, 0, 1, seq=0), acked(2, 0, 0, seq=1)]
    reads = [Read(0, 0, "w-2"), Read(0, 1, "w-1")]
    assert anomalies(history, reads) == {"reordered": 1}


def test_two_producers_may_interleave():
    history = [acked(1, 0, 1, producer=0, seq=0), acked(2, 0, 0, producer=1, seq=0)]
    reads = [Read(0, 0, "w-2"), Read(0, 1, "w-1")]
    assert anomalies(history, reads) == {}


def test_unavailability_is_the_gap_around_the_fault():
    # Acks on partition 0 at t=1, 2 (in flight when the fault hit at 2.0), then 6, 6.5.
    history = [acked(1, 0, 0, at=1.0), acked(2, 0, 1, at=2.05), acked(3, 0, 2, at=6.0), acked(4, 0, 3, at=6.5)]
    fault = Fault(kind="kill-leader", round=1, started_at=2.0, victims=[1], partitions=[0], ended_at=5.0)
    assert abs(unavailability(fault, history) - 3.95) < 1e-9
    assert longest_ack_gap(history, 0, 7.0, 8.0) is None  # no ack after the fault at all


def test_partition_that_never_takes_a_write_again_is_infinitely_unavailable():
    history = [acked(1, 0, 0, at=1.0), acked(2, 1, 0, at=9.0)]
    fault = Fault(kind="kill-leader", round=1, started_at=2.0, victims=[1], partitions=[0, 1], ended_at=5.0)
    assert unavailability(fault, history) == float("inf")
