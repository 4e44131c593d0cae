"""customer_lists.page: a page from the end of the list is the same rows, read backwards."""

import pytest

from crmcli.repo import customer_lists, customers
from crmcli.repo.customer_lists import CustomerQuery
from crmcli.repo.users import Actor

COMPANIES = ("Acme", None, "北京青禾", "acme", None, "Zeta")


@pytest.fixture
def people(alice, database):
    with database(write=True) as s:
        me = Actor("alice", "admin", "sales")
        for number in range(23):
            customers.create(s, {
                "name": f"客户{number % 7}" if number % 3 else f"Person {number:02d}",
                "company": COMPANIES[number % len(COMPANIES)] or "",
                "city": ("上海", "", "Berlin")[number % 3],
                "stage": ("lead", "won", "qualified")[number % 3],
            }, by=me, allow_duplicate=True)
    return database


@pytest.mark.parametrize("sort", [None, "name", "-company", "city", "-stage", "-updated_at"])
def test_every_page_read_from_either_end_matches_the_whole_list(people, sort):
    with people() as s:
        query = CustomerQuery(sort=sort)
        everything = [c.id for c in customer_lists.list_(s, query)]
        total = customer_lists.count(s, query)
        assert total == len(everything) == 23
        for size in (5, 10):
            for start in range(total + 2):
                page = customer_lists.page(s, query, start=start, size=size, total=total)
                assert [c.id for c in page] == everything[start:start + size], (start, size)


def test_without_a_count_the_page_is_read_from_the_start(people):
    with people() as s:
        query = CustomerQuery(search="客户")
        everything = [c.id for c in customer_lists.list_(s, query)]
        assert [c.id for c in customer_lists.page(s, query, start=3, size=4)] == everything[3:7]
