"""Locustfiles the harness passes to ``locust -f`` (kept in their own folder because Locust
puts a locustfile's folder first on ``sys.path``)."""
