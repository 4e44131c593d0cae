"""Reports for managers, computed from the shared record and its history (issue 12).

Each report is a module here that returns a `table.Report`: plain sections of rows with
typed measures and the chart that reads best, built once and rendered by the CLI (a Rich
table and terminal chart, json/ndjson/csv, an Excel workbook with a native chart) and by
the dashboard's Reports view. Reports are SQL aggregates over indexes, never Python loops
over every record; sensitive sums only for cleared readers (`RESTRICTED` otherwise).
"""
