# A root module in a subfolder (the configuration split into roots), calling a shared module
# with settings from a map variable's default, through a local.
variable "name_prefix" {
  type    = string
  default = "t-"
}

variable "settings" {
  type = map(object({ timeout = number, batch = number, window = number, concurrency = number }))
  default = {
    alpha = { timeout = 40, batch = 7, window = 3, concurrency = 4 }
    beta  = { timeout = 9, batch = 1, window = 0, concurrency = 2 }
  }
}

variable "deploy_beta" {
  type    = bool
  default = false
}

locals {
  queues = { "q-alpha" = { visibility = 240 }, "q-beta" = { visibility = 54 } }
}

resource "aws_sqs_queue" "queue" {
  for_each                   = local.queues
  name                       = "${var.name_prefix}${each.key}"
  visibility_timeout_seconds = each.value.visibility
  kms_master_key_id          = data.aws_kms_key.unknown.arn
}

module "alpha" {
  source    = "../modules/fn"
  name      = "${var.name_prefix}fn-alpha"
  settings  = var.settings["alpha"]
  queue_arn = aws_sqs_queue.queue["q-alpha"].arn
}

# Off by default, still read.
module "beta" {
  source    = "../modules/fn"
  count     = var.deploy_beta ? 1 : 0
  name      = "${var.name_prefix}fn-beta"
  settings  = var.settings["beta"]
  queue_arn = aws_sqs_queue.queue["q-beta"].arn
  reports   = false
}
