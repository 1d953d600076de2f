#!/usr/bin/python3
# Harmless: tries to open a packet socket, as sniffers and scapy-based tools do (T1040). The sandbox
# refuses it (no CAP_NET_RAW, and seccomp refuses AF_PACKET); the refused call is the evidence.
import socket

try:
    socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
except OSError as e:
    print("refused:", e)
