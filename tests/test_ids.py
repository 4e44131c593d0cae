"""Record ids: valid uuid7s, unique, in creation order; short ids are the random tail."""

import threading
import uuid

from crmcli.ids import could_be_id_prefix, new_id, short


def test_ids_are_version_7_uuids_with_the_rfc_variant():
    parsed = uuid.UUID(new_id())
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122


def test_ids_made_in_a_burst_are_unique_and_sort_in_creation_order():
    made = [new_id() for _ in range(50_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert len({short(i) for i in made}) > 49_000  # the short form is random, not the clock


def test_ids_made_from_several_threads_stay_unique():
    made: list[str] = []

    def make():
        made.extend(new_id() for _ in range(5_000))

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == 20_000


def test_only_hex_text_of_four_or_more_characters_can_be_an_id_prefix():
    assert could_be_id_prefix("a1b2") and could_be_id_prefix("01A2067B-46")
    assert not could_be_id_prefix("a1b") and not could_be_id_prefix("王伟") and not could_be_id_prefix("cafe!")


def test_a_forked_process_makes_ids_of_its_own():
    """Randomness is drawn for many ids at once; a child must not reuse its parent's."""
    import os

    new_id()  # the parent holds a drawn pool
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(writing, " ".join(short(new_id()) for _ in range(100)).encode())
        os._exit(0)
    os.close(writing)
    os.waitpid(child, 0)
    theirs = set(os.read(reading, 100_000).decode().split())
    os.close(reading)
    ours = {short(new_id()) for _ in range(100)}
    assert len(theirs) == 100 and not theirs & ours
