"""The transform layer: Pipedrive records to the Brevo state, as pure pandas (no Airflow, no I/O).

Nothing is imported here, so importing the package (at DAG parse time) costs nothing; import the
module you need:

- :mod:`.contacts` ``build_contacts``: persons (+ deals, leads, organizations, users) → the desired
  contacts, what became of each person, and the rejects; ``affected_persons`` for incremental runs.
- :mod:`.fields` ``attribute_specs`` / ``missing_attributes``: each mapped attribute's Brevo type.
- :mod:`.plan` ``diff`` / ``apply_plan`` / ``scope`` / ``mirror_memberships``: desired vs sent state.
- :mod:`.events` ``activity_events`` / ``deal_events``: Brevo events with deterministic ids.
- :mod:`.companies` ``build_companies`` / ``changed_companies``: organizations as Brevo companies.
- :mod:`.identity`, :mod:`.metrics`, :mod:`.lists`: the rules ``build_contacts`` is made of;
  :mod:`.rejects` the rejects shape and reason codes; :mod:`.records` reading API records.
"""
