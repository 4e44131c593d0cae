"""`crm import notes|tasks`: the customer by id, e-mail, phone or exact name; same error rules."""

from sqlmodel import select

from crmcli.models import AuditEvent, Note, Task
from helpers import add_customer


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_notes_find_their_customer_by_id_email_phone_or_name(crm, alice, database, tmp_path):
    short = add_customer(crm, "张三", "--phone", "13800138000", "--email", "zs@x.com")
    path = write(tmp_path, "notes.csv", "客户,内容,客户原话,类型\n"
                 f"{short},by id,,call\nZS@X.com,by email,\"太贵了，再便宜点\",电话\n"
                 "138 0013 8000,by phone,,\n张三,by name,,visit\n")
    result = crm("import", "notes", path)
    assert result.exit_code == 0, result.output
    assert "created 4" in result.stderr
    with database() as s:
        notes = {n.body: n for n in s.exec(select(Note))}
    assert notes["by email"].quote == "太贵了，再便宜点"
    assert notes["by email"].kind == "call"
    assert notes["by name"].author == "alice"
    found = crm("customer", "find", "再便宜", "-f", "json")
    assert "张三" in found.stdout


def test_notes_with_unknown_customers_are_invalid_rows_and_nothing_is_written(
    crm, alice, database, tmp_path
):
    add_customer(crm, "张三")
    path = write(tmp_path, "notes.csv",
                 "customer,body,kind\n张三,ok,\nnobody,lost,\n张三,,\n张三,x,chat\n")
    result = crm("import", "notes", path)
    assert result.exit_code == 4
    assert "line 3: customer: no customer matches 'nobody'" in result.stderr
    assert "line 4: body: is required" in result.stderr
    assert "line 5: kind: 'chat' is not one of" in result.stderr
    with database() as s:
        assert s.exec(select(Note)).all() == []


def test_importing_the_same_notes_twice_adds_nothing(crm, alice, database, tmp_path):
    add_customer(crm, "张三")
    path = write(tmp_path, "notes.csv", "customer,body,at\n张三,回访,2026-01-05T03:04:05Z\n")
    assert "created 1" in crm("import", "notes", path).stderr
    again = crm("import", "notes", path)
    assert "created 0, updated 0, unchanged 1" in again.stderr
    with database() as s:
        (note,) = s.exec(select(Note)).all()
    assert note.at.isoformat() == "2026-01-05T03:04:05+00:00"


def test_tasks_import_with_assignee_due_priority_and_status(crm, team, database, tmp_path):
    add_customer(crm, "张三", "--email", "zs@x.com")
    path = write(tmp_path, "tasks.csv", "客户,任务,执行人,截止时间,优先级,状态\n"
                 "zs@x.com,寄样品,bob,2026-03-01,high,\nzs@x.com,报价,,,,完成\n")
    result = crm("import", "tasks", path)
    assert result.exit_code == 0, result.output
    with database() as s:
        tasks = {t.title: t for t in s.exec(select(Task))}
        actions = [e.action for e in s.exec(select(AuditEvent))]
    assert (tasks["寄样品"].assignee, tasks["寄样品"].priority) == ("bob", "high")
    assert tasks["报价"].status == "done"
    assert tasks["报价"].done_at is not None
    assert actions.count("task.create") == 2
    assert actions[-1] == "import.tasks"
    update = write(tmp_path, "again.csv", "customer,title,assignee,status\nzs@x.com,寄样品,carol,\n")
    assert "updated 1" in crm("import", "tasks", update).stderr
    with database() as s:
        task = s.exec(select(Task).where(Task.title == "寄样品")).one()
    assert (task.assignee, task.priority) == ("carol", "high")


def test_a_task_for_an_unknown_assignee_is_reported_with_its_line_and_column(crm, alice, tmp_path):
    add_customer(crm, "张三")
    path = write(tmp_path, "tasks.csv", "customer,title,assignee\n张三,call,ghost\n张三,mail,\n")
    result = crm("import", "tasks", path, "--partial")
    assert result.exit_code == 4
    assert "line 2: assignee: no user 'ghost'" in result.stderr
    assert "created 1" in result.stderr


def test_a_note_by_an_unknown_author_is_one_invalid_row_not_a_failed_import(crm, team, tmp_path):
    add_customer(crm, "张三")
    crm("user", "deactivate", "bob", "--transfer-to", "alice")
    path = write(tmp_path, "notes.csv",
                 "customer,body,author\n张三,from a stranger,nobody\n张三,from bob who left,bob\n")
    result = crm("import", "notes", path, "--partial")
    assert result.exit_code == 4
    assert "line 2: author: no user 'nobody'" in result.stderr
    assert "created 1" in result.stderr  # a note by a member who has left is history


def test_two_tasks_with_the_same_title_stay_two_and_a_second_import_changes_nothing(
    crm, alice, database, tmp_path
):
    add_customer(crm, "张三")
    path = write(tmp_path, "tasks.csv", "customer,title,due\n张三,回电话,2026-03-01\n"
                 "张三,回电话,2026-03-02\n张三,回电话,2026-03-03\n")
    assert "created 3" in crm("import", "tasks", path).stderr
    again = crm("import", "tasks", path)
    assert "created 0, updated 0, unchanged 3" in again.stderr
    with database() as s:
        dues = sorted(t.due.date().isoformat() for t in s.exec(select(Task)))
    assert dues == ["2026-03-01", "2026-03-02", "2026-03-03"]


def test_a_task_row_with_an_id_updates_that_task_even_its_title(crm, alice, database, tmp_path):
    short = add_customer(crm, "张三")
    assert crm("task", "add", short, "回电话").exit_code == 0
    assert crm("task", "add", short, "回电话", "--priority", "high").exit_code == 0
    exported = crm("export", "tasks").stdout.splitlines()
    second = exported[2].replace(",回电话,", ",回电话并报价,").replace(",high,", ",urgent,")
    path = write(tmp_path, "tasks.csv", "\n".join([exported[0], exported[1], second]) + "\n")
    result = crm("import", "tasks", path)
    assert "created 0, updated 1, unchanged 1" in result.stderr
    with database() as s:
        titles = {t.title: t.priority for t in s.exec(select(Task))}
    assert titles == {"回电话": "normal", "回电话并报价": "urgent"}


def test_a_row_whose_id_belongs_to_another_customers_task_is_refused(crm, alice, tmp_path):
    zhang = add_customer(crm, "张三")
    add_customer(crm, "李四")
    assert crm("task", "add", zhang, "回电话").exit_code == 0
    assert crm("note", "add", zhang, "回访").exit_code == 0
    for kind in ("tasks", "notes"):
        header, row = crm("export", kind, "--headers", "zh").stdout.splitlines()
        task_id, customer_id, rest = row.split(",", 2)
        path = write(tmp_path, f"{kind}.csv", f"{header}\n{task_id},李四,{rest}\n")
        result = crm("import", kind, path)
        assert result.exit_code == 4
        assert f"line 2: 客户: {kind[:-1]} {task_id} belongs to another customer" in result.stderr


def test_an_id_that_is_not_a_full_id_is_an_invalid_row(crm, alice, tmp_path):
    add_customer(crm, "张三")
    path = write(tmp_path, "notes.csv", "id,customer,body\n01a2,张三,回访\n")
    result = crm("import", "notes", path)
    assert result.exit_code == 4
    assert "line 2: id: '01a2' is not a full note id" in result.stderr


def test_an_import_revises_a_task_with_the_history_actions_of_the_task_commands(
    crm, team, database, tmp_path
):
    short = add_customer(crm, "张三")
    assert crm("task", "add", short, "寄样品", "--due", "2026-03-01").exit_code == 0
    exported = crm("export", "tasks").stdout
    path = write(tmp_path, "tasks.csv", exported.replace(",alice,", ",bob,")
                 .replace("2026-03-01T", "2026-03-08T").replace(",normal,open", ",high,done"))
    result = crm("import", "tasks", path)
    assert "updated 1" in result.stderr, result.output
    with database() as s:
        events = [(e.action, sorted(e.changes)) for e in s.exec(
            select(AuditEvent).where(AuditEvent.entity == "task").order_by(AuditEvent.id))]
    assert events[2:] == [("task.update", ["due", "priority"]), ("task.reassign", ["assignee"]),
                          ("task.done", ["done_at", "status"])]


def test_an_import_changing_a_task_takes_the_right_its_command_takes(crm, team, tmp_path):
    short = add_customer(crm, "张三")
    assert crm("task", "add", short, "寄样品").exit_code == 0
    path = write(tmp_path, "tasks.csv", crm("export", "tasks").stdout)
    assert "unchanged 1" in crm("--as", "bob", "import", "tasks", path).stderr  # changes nothing
    path.write_text(path.read_text().replace(",normal,", ",urgent,"), encoding="utf-8")
    refused = crm("--as", "bob", "import", "tasks", path)
    assert refused.exit_code == 6
    assert "line 2: " in refused.stderr and "nothing imported" in refused.stderr


def test_an_assignee_or_author_may_be_a_members_name(crm, team, database, tmp_path):
    add_customer(crm, "张三")
    tasks_file = write(tmp_path, "tasks.csv", "联系人,任务,执行人\n张三,回电话,Bob Li\n")
    assert crm("import", "tasks", tasks_file).exit_code == 0
    notes_file = write(tmp_path, "notes.csv", "customer,body,记录人\n张三,回访,carol zhang\n")
    assert crm("import", "notes", notes_file).exit_code == 0
    with database() as s:
        assert s.exec(select(Task)).one().assignee == "bob"
        assert s.exec(select(Note)).one().author == "carol"


def test_an_import_corrects_a_note_as_note_edit_does(crm, team, database, tmp_path):
    short = add_customer(crm, "张三")
    assert crm("note", "add", short, "回访", "--quote", "再说吧").exit_code == 0
    exported = crm("export", "notes").stdout
    path = write(tmp_path, "notes.csv", exported.replace(",再说吧,", ",下周签约,")
                 .replace(",internal,", ",call,"))
    refused = crm("--as", "bob", "import", "notes", path)  # neither author nor owner
    assert refused.exit_code == 6
    assert "line 2: bob may not change a note on 张三" in refused.stderr
    assert "updated 1" in crm("import", "notes", path).stderr
    with database() as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.entity == "note")
                       .order_by(AuditEvent.id.desc())).first()
    assert (event.action, sorted(event.changes)) == ("note.update", ["kind", "quote"])
    assert "张三" in crm("customer", "find", "下周签约").stdout


def test_notes_import_a_direction_in_english_or_chinese(crm, alice, database, tmp_path):
    add_customer(crm, "张三")
    path = write(tmp_path, "notes.csv", "客户,内容,类型,方向\n张三,来电问价,电话,呼入\n"
                 "张三,回电报价,电话,回复\n张三,发了资料,email,out\n张三,内部讨论,,\n")
    result = crm("import", "notes", path)
    assert result.exit_code == 0, result.output
    with database() as s:
        found = {n.body: n.direction for n in s.exec(select(Note))}
    assert found == {"来电问价": "in", "回电报价": "out", "发了资料": "out", "内部讨论": None}


def test_a_note_row_with_an_unknown_direction_is_refused_naming_its_line(
    crm, alice, database, tmp_path
):
    add_customer(crm, "张三")
    path = write(tmp_path, "notes.csv", "customer,body,kind,direction\n张三,ok,call,in\n"
                 "张三,odd,call,sideways\n张三,thought,internal,in\n")
    result = crm("import", "notes", path)
    assert result.exit_code == 4
    assert "line 3: direction: 'sideways' is not one of in, out" in result.stderr
    assert "line 4: direction: an internal note has no direction" in result.stderr
    with database() as s:
        assert s.exec(select(Note)).all() == []
