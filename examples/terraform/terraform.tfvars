cluster_version = "1.28"
