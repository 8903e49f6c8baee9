"""(being written)"""


def send_six_month_follow_ups(now):
    return 0
