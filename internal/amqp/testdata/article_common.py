# Shared set-up for the article's pika samples: where Gannet listens.
import os

import pika

HOST = os.environ.get("GANNET_HOST", "localhost")
PORT = int(os.environ.get("GANNET_PORT", "5672"))


def connection_parameters():
    # The article uses pika.ConnectionParameters('localhost'); only the
    # host and port change here.
    return pika.ConnectionParameters(HOST, PORT)
