"""The floor every layer stands on: errors, the clock, private atomic writes.

Nothing here imports anything of ours, so any module may import it.
"""
