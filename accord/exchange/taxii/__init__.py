"""The TAXII 2.1 server (OASIS TAXII Version 2.1, OASIS Standard, 10 June 2021).

Plain Django views under ``/taxii2/``: discovery, one API root, collections that
follow the sharing audiences, objects, manifest, versions and status. What a
client may read is what its user may see: every query starts from the access
policy (``accord.policy.stix_objects_visible_to``). See docs/taxii.md.
"""
