"""The Tagwise expression language: one small SQL-like language for rules, filters and
segments, compiled to SQL (sqlglot) for batch work and to Python for one customer.

Phases, one module each: ``tokens`` → ``parser`` → ``ast`` → ``check`` → ``to_sql`` /
``to_python`` / ``to_text``; built-in functions are a table in ``functions``.
"""
