"""`sdpo compare`: independent jobs (problem x method x seed), their runner(s), and the
analysis and reports built from the jobs' logs."""
