resource "aws_eks_cluster" "this" {
  name     = var.cluster_name
  role_arn = var.cluster_role_arn
  version  = var.cluster_version

  vpc_config {
    subnet_ids              = var.subnet_ids
    endpoint_public_access  = true
    endpoint_private_access = true
  }

  upgrade_policy {
    # EXTENDED: EKS keeps the cluster on its minor (at extended-support price) instead of
    # upgrading it automatically when standard support ends; upgrades stay deliberate.
    support_type = "EXTENDED"
  }

  tags = var.tags
}

resource "aws_eks_node_group" "this" {
  for_each = var.node_groups

  cluster_name    = aws_eks_cluster.this.name
  node_group_name = each.key
  node_role_arn   = var.node_role_arn
  subnet_ids      = var.subnet_ids

  # Follow the control plane: a version bump rolls the nodes after the control plane moved.
  version        = aws_eks_cluster.this.version
  ami_type       = "AL2023_x86_64_STANDARD"
  instance_types = each.value.instance_types
  labels         = each.value.labels

  scaling_config {
    desired_size = each.value.desired_size
    min_size     = each.value.min_size
    max_size     = each.value.max_size
  }

  update_config {
    max_unavailable = 1
  }

  tags = var.tags
}

data "aws_eks_addon_version" "this" {
  for_each = toset(var.cluster_addons)

  addon_name         = each.key
  kubernetes_version = aws_eks_cluster.this.version
  most_recent        = true
}

resource "aws_eks_addon" "this" {
  for_each = toset(var.cluster_addons)

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = each.key
  addon_version               = data.aws_eks_addon_version.this[each.key].version
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  # CoreDNS needs nodes to schedule on before it reports ACTIVE.
  depends_on = [aws_eks_node_group.this]

  tags = var.tags
}
