<?php

namespace App\Http\Controllers;

use App\Http\Resources\UserResource;
use App\Models\User;
use Illuminate\Http\Request;

/** The users list, once per Laravel pagination style (the route's base path picks one). */
class UserController extends Controller
{
    public function paginate(Request $request)
    {
        return $this->users()->paginate($this->perPage($request));
    }

    public function simple(Request $request)
    {
        return $this->users()->simplePaginate($this->perPage($request));
    }

    public function cursor(Request $request)
    {
        return $this->users()->cursorPaginate($this->perPage($request));
    }

    public function resource(Request $request)
    {
        return UserResource::collection($this->users()->paginate($this->perPage($request)));
    }

    public function cursorResource(Request $request)
    {
        return UserResource::collection($this->users()->cursorPaginate($this->perPage($request)));
    }

    private function users()
    {
        return User::query()->orderBy('id');
    }

    private function perPage(Request $request): int
    {
        return max(1, min((int) $request->query('per_page', 500), 1000));
    }
}
