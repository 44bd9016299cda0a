"""`casework simulate`: a week of support through the real engine on Temporal's
time-skipping test server, with a simulated crowd of customers, engineers and Escalation
Managers. load.py: the load file; plan.py: seeded draws; crowd.py: the crowd as a
workflow; actors.py: its hands on the engine; run.py: one run; results.py: what it shows;
erlang.py: the textbook's answer to compare with."""
