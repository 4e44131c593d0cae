"""Names compare as people compare them: width, case, spaces and script do not make two people."""

from hypothesis import given
from hypothesis import strategies as st

from crmcli.names import name_key, same_name


def test_traditional_and_simplified_are_the_same_name():
    assert same_name("張三", "张三")
    assert same_name("陳經理", "陈经理")


def test_width_case_and_spaces_are_folded():
    assert same_name("ＺＨＡＮＧ San", "zhang  san")
    assert same_name(" 王 经理 ", "王经理")


def test_different_people_stay_different():
    assert not same_name("王经理", "李经理")
    assert not same_name("张三", "张三丰")
    assert not same_name("", "张三")


@given(st.text())
def test_name_key_is_idempotent(text):
    assert name_key(name_key(text)) == name_key(text)
