"""The papers' published numbers, each table once, with where it is printed.

:mod:`~taskspace.papers.task2box` holds TASK2BOX's tables (Daroya, Sun & Maji, CVPR 2024) and
:mod:`~taskspace.papers.task_discovery` those of Task Discovery (Atanov et al., NeurIPS 2022).
Chapters, tests and the intro's comparison table read them from here, so a value is typed once.
"""
