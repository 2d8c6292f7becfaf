"""moto's server (python3 motoserver.py -H HOST -p PORT), with one fix.

moto 5.2.1's SQS DeleteMessage rebuilds the queue's message list without the lock SendMessage
appends under, so a message sent to a queue (or fanned out to it by SNS) while a consumer
deletes another message of that queue can vanish. Our stacks delete and receive on busy queues
all the time, and a lost event strands a run until its timeout; real SQS never loses one, so
the stand-in must not either. CI and the tests start moto through this file.
"""

import functools
import sys

from moto.server import main
from moto.sqs import models

_delete_message = models.Queue.delete_message


@functools.wraps(_delete_message)
def _locked_delete_message(self, receipt_handle):
    with self._messages_lock:
        return _delete_message(self, receipt_handle)


models.Queue.delete_message = _locked_delete_message

if __name__ == "__main__":
    sys.exit(main())
