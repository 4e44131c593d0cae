"""The repository / service layer: the only place that opens queries on the data.

One module per aggregate. Functions take a session and plain arguments (and `by`, the
acting user, for writes) and return models or dataclasses. They never commit: the front
end owns the transaction. Every write records an audit event (see `audit.py`), which is
also the change log sync pushes.
"""
