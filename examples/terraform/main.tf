module "eks" {
  source = "./modules/eks"

  cluster_name     = var.cluster_name
  cluster_version  = var.cluster_version
  cluster_role_arn = var.cluster_role_arn
  node_role_arn    = var.node_role_arn
  subnet_ids       = var.subnet_ids

  node_groups = {
    system = {
      instance_types = ["m5.large"]
      desired_size   = 2
      min_size       = 2
      max_size       = 3
      labels         = { role = "system" }
    }
    apps = {
      instance_types = ["m5.xlarge"]
      desired_size   = 2
      min_size       = 2
      max_size       = 6
      labels         = { role = "apps" }
    }
  }

  tags = {
    Environment = "demo"
  }
}
