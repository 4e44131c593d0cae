def test_a_fresh_home_has_no_database_and_says_how_to_make_one(crm):
    result = crm("customer", "list")
    assert result.exit_code == 2
    assert "crm init" in result.stderr
    assert result.stdout == ""
