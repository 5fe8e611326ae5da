"""Engine-neutral compilation: from checked specs to sqlglot trees and Python evaluators.

Tag planning (:mod:`~tagwise.compile.plan`, :mod:`~tagwise.compile.rules`), the SQL of the
dependency layers (:mod:`~tagwise.compile.layers`), of features
(:mod:`~tagwise.compile.features`) and of SQL tags (:mod:`~tagwise.compile.sqltags`), and
the Python evaluation that explains a value (:mod:`~tagwise.compile.explain`). The trees
are written against the logical layout; the execution adapters of :mod:`tagwise.engine`
run them.
"""
