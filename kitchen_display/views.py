from django.shortcuts import render

from stores.selectors import store_list


def home(request):
    return render(request, "kitchen_display/home.html", {"stores": store_list()})
